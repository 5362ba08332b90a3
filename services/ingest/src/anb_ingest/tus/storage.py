"""Where a resumable upload's bytes go, as the tus code sees it: parts of a multipart upload, tail
objects between PATCHes, and the completed object read back for validation. ``s3`` implements it.

Why the tail is an object and not a file on the host that received it: several ingest hosts sit
behind the load balancer and each PATCH may reach another one; a tail on one host's disk is
invisible to the next (and lost with a host that dies), while S3 serves it to whichever host takes
the next PATCH. Stickiness would tie an upload to a host that may be gone. The price is one small
PUT per PATCH that ends mid-part and one GET at the start of the next, both under 8 MiB.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Protocol


class UploadVanished(Exception):
    """The multipart upload is no longer there (completed or aborted)."""


class TusStorage(Protocol):
    async def start(self, key: str, content_type: str) -> str:
        """Open a multipart upload of ``key``; its id."""

    async def write_part(
        self, key: str, multipart_id: str, number: int, body: io.RawIOBase, length: int
    ) -> str:
        """Store ``length`` bytes of ``body`` as part ``number`` (overwriting one sent before); its ETag."""

    async def stream_part(
        self, key: str, multipart_id: str, number: int, chunks: AsyncIterator[bytes], length: int
    ) -> str:
        """Store part ``number`` from ``chunks`` as they come (``length`` bytes in all), sent without
        waiting for the last of them; its ETag. Not retried inside (the chunks are gone once sent):
        the caller sends a failed part again with ``write_part``."""

    async def complete(self, key: str, multipart_id: str, etags: Sequence[str]) -> None:
        """Assemble the parts (in order, numbered from 1) into ``key``; ``UploadVanished`` when the
        multipart upload is gone."""

    async def abort(self, key: str, multipart_id: str) -> None:
        """Discard the multipart upload; a no-op when it is already gone."""

    async def put(self, key: str, body: io.RawIOBase, length: int) -> None:
        """Store a small whole object (a tail)."""

    def read(self, key: str, length: int) -> AsyncIterator[bytes]:
        """The bytes of object ``key``, which must hold ``length``."""

    async def download(self, key: str, target: Path) -> int:
        """Copy object ``key`` into the new file ``target``; its size."""

    async def exists(self, key: str) -> bool: ...

    async def delete(self, key: str) -> None:
        """Remove an object; a no-op when absent."""

    async def delete_prefix(self, prefix: str) -> list[str]:
        """Remove every object whose key starts with ``prefix``; the keys removed."""
