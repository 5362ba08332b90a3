"""The local copy of an upload: hashed as it is written, probed once complete, and the buffer that
S3 parts are uploaded from.

Why a local copy rather than probing through ranged S3 reads: the multipart upload is not readable
until it is completed, and completing it before validation would publish a rejected object for a
moment; PyAV also seeks freely (an MP4's ``moov`` index is often at the end), which over S3 means
many small ranged GETs. A sequential write to local disk costs little (page cache) and lets FFmpeg
read a plain file with the ``file`` protocol only. Since the bytes are on disk anyway, parts are
uploaded from the file too (see ``parts``), so no part has to be held in memory.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer


FOLDER_PREFIX = "upload-"


def sweep_stale(parent: Path, older_than_s: float) -> int:
    """Remove spool folders a crashed process left behind; return how many.

    Only old ones: several worker processes may share ``parent``, and a live upload's folder is
    never older than the longest upload takes.
    """
    if not parent.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    stale = [p for p in parent.glob(FOLDER_PREFIX + "*") if p.is_dir() and p.stat().st_mtime < cutoff]
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
    return len(stale)


class Spool:
    """A per-upload folder holding one file; ``close`` removes both, whatever happened."""

    def __init__(self, parent: Path, name: str) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=FOLDER_PREFIX, dir=parent))
        self.path = self.folder / name
        # Unbuffered: what write() returns from is in the OS, so part readers on other fds see it.
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        self._sha256 = hashlib.sha256()
        self.size = 0

    async def write(self, data: ReadableBuffer) -> None:
        """Append and hash ``data`` off the event loop (both are disk/CPU work on a megabyte)."""
        await asyncio.to_thread(self._write, data)

    def _write(self, data: ReadableBuffer) -> None:
        assert self._fd is not None, "spool already sealed"
        view = memoryview(data).cast("B")
        self._sha256.update(view)
        while view:
            view = view[os.write(self._fd, view) :]
        self.size += len(memoryview(data).cast("B"))

    def seal(self) -> None:
        """No more bytes will come: close the writer (readers and the probe open their own)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def section(self, offset: int, length: int) -> FileSection:
        return FileSection(self.path, offset, length)

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    def close(self) -> None:
        self.seal()
        shutil.rmtree(self.folder, ignore_errors=True)


class FileSection(io.RawIOBase):
    """``length`` bytes of a file from ``offset``, as a seekable read-only file of its own.

    An S3 part body: botocore reads it once for the checksum and signature and seeks back, then
    aiohttp streams it in 64 KiB reads. Reads go straight into the caller's buffer (``preadv``).
    """

    def __init__(self, path: Path, offset: int, length: int) -> None:
        super().__init__()
        self._fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        self._offset = offset
        self._length = length
        self._position = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        target = memoryview(buffer).cast("B")
        count = max(0, min(len(target), self._length - self._position))
        if count == 0:
            return 0
        got = os.preadv(self._fd, [target[:count]], self._offset + self._position)
        self._position += got
        return got

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self._length}[whence]
        self._position = max(0, base + offset)
        return self._position

    def tell(self) -> int:
        return self._position

    def close(self) -> None:
        if not self.closed:
            os.close(self._fd)
        super().close()
