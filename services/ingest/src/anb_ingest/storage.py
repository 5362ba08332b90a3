"""Where uploaded bytes go, as the upload path sees it: a multipart sink per upload.

The handler and the pipeline know only these protocols; ``s3store`` is the S3 implementation.
"""

from __future__ import annotations

import io
from typing import Protocol


class MultipartSink(Protocol):
    """One object being written in numbered parts; nothing is visible until ``complete``."""

    key: str
    upload_id: str

    async def write_part(self, number: int, body: io.RawIOBase, length: int) -> None:
        """Store ``length`` bytes read from ``body`` as part ``number`` (1-based); parts may be
        written concurrently and out of order. ``body`` is seekable (a retry reads it again)."""

    async def complete(self) -> None:
        """Assemble the written parts into the object."""

    async def abort(self) -> None:
        """Discard every part written; safe to call more than once."""


class UploadStore(Protocol):
    async def start(self, key: str, content_type: str) -> MultipartSink:
        """Open a multipart upload of ``key``."""

    async def abort(self, key: str, upload_id: str) -> None:
        """Abort the multipart upload ``upload_id`` of ``key`` (a crashed process's); no-op if gone."""

    async def delete(self, key: str) -> None:
        """Remove a completed object (used when recording it failed); no-op if absent."""
