"""This host's copy of each resumable upload it is receiving, kept between PATCHes, so that the PATCH
that brings the last byte validates the file where it lies instead of reading 100 MB back from S3.

A copy is one file per upload, addressed by the upload's own offsets (byte ``n`` of the upload at
position ``n``), holding the contiguous bytes ``[start, end)``. S3 stays the truth: parts are
uploaded from the copy, and the offset the row reports moves only once S3 has them; the copy only
spares the download. It is exact from byte 0 when every PATCH of the upload reached this process;
otherwise (another host took some, or this process restarted) it starts at a part boundary, holds
the tail fetched from S3 and what followed, and the upload is validated from S3 as before.

The SHA-256 the video row records is computed as bytes are appended from byte 0, so that the last
PATCH does not read the file once more for it.

Copies live in the spool folder, named like the one-request path's (``upload-<pid>-...``), so that
``recovery`` removes those of a process that died; a copy goes when its upload is finished,
terminated, refused or expired, and the sweeper drops those whose upload another host finished or
that have not been written for ``tus_copy_idle_s``.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from anb_ingest.sections import FileSection
from anb_ingest.spool import FOLDER_PREFIX

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

DATA = "data"


TUS_MARK = "-tus-"
"""Between the pid and the upload's id in a copy's folder name (``upload-<pid>-tus-<id>-<random>``)."""


class LocalCopy:
    def __init__(self, parent: Path, upload_id: uuid.UUID) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        # The pid lets ``recovery`` remove the copies of a process that died; the random end keeps two
        # copies of one upload apart (two apps in one process, as tests run them).
        prefix = f"{FOLDER_PREFIX}{os.getpid()}{TUS_MARK}{upload_id}-"
        self.folder = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        self.path = self.folder / DATA
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        os.ftruncate(self._fd, 0)
        self.start = self.end = 0
        self._sha256: hashlib._Hash | None = hashlib.sha256()
        self.used = time.monotonic()

    def restart_at(self, offset: int) -> None:
        """Hold nothing, and take bytes from ``offset`` on (a part boundary)."""
        os.ftruncate(self._fd, 0)
        self.start = self.end = offset
        self._sha256 = hashlib.sha256() if offset == 0 else None

    def cut_to(self, offset: int) -> None:
        """Forget what lies past ``offset`` (bytes a PATCH received that never became durable)."""
        if offset < self.end:
            os.ftruncate(self._fd, offset)
            self.end = offset
            # A hash cannot be rewound: the last PATCH hashes the file instead.
            self._sha256 = None

    def holds(self, start: int, end: int) -> bool:
        return self.start <= start and end <= self.end

    async def append(self, data: ReadableBuffer) -> None:
        """Write ``data`` at ``end`` (and hash it) off the event loop: disk and CPU work on a megabyte."""
        await asyncio.to_thread(self._append, data)

    def _append(self, data: ReadableBuffer) -> None:
        view = memoryview(data).cast("B")
        if self._sha256 is not None:
            self._sha256.update(view)
        at = self.end
        while view:
            written = os.pwrite(self._fd, view, at)
            view, at = view[written:], at + written
        self.end = at
        self.used = time.monotonic()

    def read(self, offset: int, length: int) -> bytes:
        """Bytes ``[offset, offset + length)`` of the upload, which the copy must hold (blocking)."""
        if not self.holds(offset, offset + length):
            raise ValueError(f"{offset}+{length} is outside the copy's [{self.start}, {self.end})")
        return os.pread(self._fd, length, offset)

    def section(self, offset: int, length: int) -> FileSection:
        """Bytes ``[offset, offset + length)`` of the upload, which the copy must hold."""
        if not self.holds(offset, offset + length):
            raise ValueError(f"{offset}+{length} is outside the copy's [{self.start}, {self.end})")
        return FileSection(self.path, offset, length)

    def sha256(self) -> str | None:
        """The SHA-256 of ``[0, end)`` when it was computed on the way."""
        return self._sha256.hexdigest() if self._sha256 is not None and self.start == 0 else None

    def remove(self) -> None:
        os.close(self._fd)
        shutil.rmtree(self.folder, ignore_errors=True)


class Copies:
    """The copies this process holds, by upload id."""

    def __init__(self, parent: Path) -> None:
        self._parent = parent
        self._held: dict[uuid.UUID, LocalCopy] = {}

    def at(self, upload_id: uuid.UUID, offset: int, base: int) -> LocalCopy:
        """The upload's copy, ready to take bytes at its durable ``offset``: the one kept since the last
        PATCH when it holds ``[base, offset)`` (``base``: where the bytes after the whole parts start),
        else a new one that starts at ``base`` and must first be given the tail ``[base, offset)``."""
        copy = self._held.get(upload_id)
        if copy is None:
            copy = self._held[upload_id] = LocalCopy(self._parent, upload_id)
            copy.restart_at(base)
        elif copy.holds(base, offset):
            copy.cut_to(offset)
        else:
            copy.restart_at(base)
        # recovery takes a spool folder older than stale_spool_s for a leftover: a copy in use is not.
        os.utime(copy.folder)
        return copy

    def get(self, upload_id: uuid.UUID) -> LocalCopy | None:
        return self._held.get(upload_id)

    async def drop(self, upload_id: uuid.UUID) -> None:
        copy = self._held.pop(upload_id, None)
        if copy is not None:
            # Unlinking a file of 100 MB frees as much page cache: milliseconds of the kernel's time
            # that the event loop does not wait for.
            await asyncio.to_thread(copy.remove)

    def ids(self) -> list[uuid.UUID]:
        return list(self._held)

    def idle(self, idle_s: float) -> list[uuid.UUID]:
        """Uploads whose copy nobody has written for ``idle_s`` seconds."""
        now = time.monotonic()
        return [upload_id for upload_id, copy in self._held.items() if now - copy.used > idle_s]
