"""A window onto the spool file: the body of one S3 part, read from disk rather than held in memory."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


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
