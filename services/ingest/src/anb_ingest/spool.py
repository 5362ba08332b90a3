"""A local copy of the upload for probing, hashed as it is written.

Why a local copy rather than probing through ranged S3 reads: the multipart upload is not readable
until it is completed, and completing it before validation would publish a rejected object for a
moment; PyAV also seeks freely (an MP4's ``moov`` index is often at the end), which over S3 means
many small ranged GETs. A sequential write to local disk costs little (page cache) and lets
FFmpeg read a plain file with the ``file`` protocol only.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO


class Spool:
    """A per-upload folder holding one file; ``close`` removes both, whatever happened."""

    def __init__(self, parent: Path, name: str) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix="upload-", dir=parent))
        self.path = self.folder / name
        self._file: BinaryIO | None = self.path.open("wb")
        self._sha256 = hashlib.sha256()

    async def write(self, data: bytes) -> None:
        """Append and hash one part off the event loop (both are CPU/disk work on megabytes)."""
        await asyncio.to_thread(self._write, data)

    def _write(self, data: bytes) -> None:
        assert self._file is not None, "spool already closed"
        self._file.write(data)
        self._sha256.update(data)

    async def seal(self) -> None:
        """Flush the file so that the probe reads every byte written."""
        if self._file is not None:
            file, self._file = self._file, None
            await asyncio.to_thread(file.close)

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        shutil.rmtree(self.folder, ignore_errors=True)
