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
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer


FOLDER_PREFIX = "upload-"
JOURNAL = "journal.json"


@dataclass(frozen=True, slots=True)
class Journal:
    """What an upload in flight has started in S3, written beside its spool so that a restarted
    process can undo it if this one dies (SIGKILL, OOM) before cleaning up."""

    key: str
    upload_id: str


# A folder whose cleanup failed (storage unreachable) is kept with this marker: the periodic recovery
# retries it, so the open multipart upload does not wait a day for the bucket's lifecycle rule.
RETRY_MARKER = "cleanup-pending"


def orphans(parent: Path, older_than_s: float, *, at_start_up: bool) -> list[Path]:
    """Spool folders no live upload owns: their process is gone, their cleanup is pending a retry,
    or they are older than any upload.

    Folder names carry the owner's pid, so that worker processes sharing ``parent`` leave each
    other's live uploads alone. At start-up this process has no uploads of its own yet, so a folder
    with our pid is from an earlier process that had it (a container's pid 1, say); later, our own
    folders are live uploads unless marked for retry.
    """
    if not parent.is_dir():
        return []
    cutoff = time.time() - older_than_s
    found = []
    for folder in parent.glob(FOLDER_PREFIX + "*"):
        if not folder.is_dir():
            continue
        owner = folder.name.removeprefix(FOLDER_PREFIX).split("-", 1)[0]
        ours = owner == str(os.getpid())
        dead = (at_start_up or not ours) and not _alive(owner)
        if (folder / RETRY_MARKER).exists() or dead or folder.stat().st_mtime < cutoff:
            found.append(folder)
    return found


def read_journal(folder: Path) -> Journal | None:
    try:
        data = json.loads((folder / JOURNAL).read_text())
        return Journal(key=data["key"], upload_id=data["upload_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _alive(pid_text: str) -> bool:
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A killed process stays a zombie until its parent (systemd, the launcher) reaps it.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


class Spool:
    """A per-upload folder holding the file and its journal; ``close`` removes it, whatever happened."""

    def __init__(self, parent: Path, name: str) -> None:
        parent.mkdir(parents=True, exist_ok=True)
        self.folder = Path(tempfile.mkdtemp(prefix=f"{FOLDER_PREFIX}{os.getpid()}-", dir=parent))
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

    def journal(self, journal: Journal) -> None:
        """Record the S3 upload this spool feeds (written whole, then renamed into place)."""
        staging = self.folder / (JOURNAL + ".new")
        staging.write_text(json.dumps({"key": journal.key, "upload_id": journal.upload_id}))
        staging.replace(self.folder / JOURNAL)

    def section(self, offset: int, length: int) -> FileSection:
        return FileSection(self.path, offset, length)

    @property
    def sha256(self) -> str:
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
