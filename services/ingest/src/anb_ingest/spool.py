"""The local copy of an upload: hashed as it is written, probed once complete, and the buffer that
S3 parts are uploaded from; beside it, the journal of what the upload started in S3.

Why a local copy rather than probing through ranged S3 reads: the multipart upload is not readable
until it is completed, and completing it before validation would publish a rejected object for a
moment; PyAV also seeks freely (an MP4's ``moov`` index is often at the end), which over S3 means
many small ranged GETs. A sequential write to local disk costs little (page cache) and lets FFmpeg
read a plain file with the ``file`` protocol only. Since the bytes are on disk anyway, parts are
uploaded from the file too (see ``parts``), so no part has to be held in memory.

The folder's name carries this process's pid and the journal names the S3 upload, so that
``recovery`` can tell a crashed upload's folder from a live one and undo what it started.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from anb_ingest.sections import FileSection

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer


FOLDER_PREFIX = "upload-"
JOURNAL = "journal.json"

# A folder whose cleanup failed (storage unreachable) is kept with this marker: the periodic recovery
# retries it, so the open multipart upload does not wait a day for the bucket's lifecycle rule.
RETRY_MARKER = "cleanup-pending"


@dataclass(frozen=True, slots=True)
class Journal:
    """What an upload in flight has started in S3, written beside its spool so that a restarted
    process can undo it if this one dies (SIGKILL, OOM) before cleaning up."""

    key: str
    upload_id: str


class Spool:
    """A per-upload folder holding the file and its journal; ``close`` removes it, whatever happened."""

    def __init__(self, parent: Path, name: str, *, hashed: bool = True) -> None:
        """``hashed``: keep the SHA-256 of what is written (a resumable upload's PATCH holds only a
        piece of the file, whose hash it does not need)."""
        parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=parent))
        self.path = self.folder / name
        # Unbuffered: what write() returns from is in the OS, so part readers on other fds see it.
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        self._sha256 = hashlib.sha256() if hashed else None
        self.size = 0

    async def write(self, data: ReadableBuffer) -> None:
        """Append and hash ``data`` off the event loop (both are disk/CPU work on a megabyte)."""
        await asyncio.to_thread(self._write, data)

    def _write(self, data: ReadableBuffer) -> None:
        assert self._fd is not None, "spool already sealed"
        view = memoryview(data).cast("B")
        if self._sha256 is not None:
            self._sha256.update(view)
        while view:
            view = view[os.write(self._fd, view) :]
        self.size += len(memoryview(data).cast("B"))

    def seal(self) -> None:
        """No more bytes will come: close the writer (readers and the probe open their own)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def journal(self, journal: Journal) -> None:
        """Record the S3 upload this spool feeds (written whole, then renamed into place)."""
        staging = self.folder / (JOURNAL + ".new")
        staging.write_text(json.dumps({"key": journal.key, "upload_id": journal.upload_id}))
        staging.replace(self.folder / JOURNAL)

    def section(self, offset: int, length: int) -> FileSection:
        return FileSection(self.path, offset, length)

    @property
    def sha256(self) -> str:
        assert self._sha256 is not None, "an unhashed spool"
        return self._sha256.hexdigest()

    def keep_for_retry(self) -> None:
        """Leave the folder and its journal to the periodic recovery: our own cleanup failed."""
        (self.folder / RETRY_MARKER).touch()

    def close(self) -> None:
        self.seal()
        if (self.folder / RETRY_MARKER).exists():
            # The spooled copy is of no use to the retry; only the journal is.
            self.path.unlink(missing_ok=True)
            return
        shutil.rmtree(self.folder, ignore_errors=True)
