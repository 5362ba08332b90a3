"""Undo what a crashed ingest process left: open multipart uploads, unrecorded objects, spools.

Runs at start-up, before the app takes requests, and then periodically for uploads whose own cleanup
failed because storage was unreachable. Each orphaned spool folder (see ``orphans``) names the S3
upload it fed in its journal: the multipart upload is aborted (a no-op once it was completed), and a
completed object that no video row owns is deleted (the process died between completing it and
committing the row). An object a row owns is the video's original and stays. Folders without a
journal died before S3 was touched. A dead host takes its spool with it; the bucket's lifecycle rule
for incomplete multipart uploads is the net for that case.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.db.models import Video
from anb_common.processes import alive, owner_pid
from anb_ingest.spool import FOLDER_PREFIX, JOURNAL, RETRY_MARKER, Journal
from anb_ingest.storage import UploadStore

log = logging.getLogger(__name__)


async def recover(
    parent: Path,
    store: UploadStore,
    sessions: async_sessionmaker[AsyncSession],
    *,
    older_than_s: float,
    at_start_up: bool,
) -> int:
    """Clean up every orphaned upload under ``parent``; return how many. A folder whose cleanup
    fails is kept, so that the next start tries again."""
    recovered = 0
    for folder in orphans(parent, older_than_s, at_start_up=at_start_up):
        journal = read_journal(folder)
        try:
            if journal is not None:
                await store.abort(journal.key, journal.upload_id)
                async with sessions() as session:
                    owned = await session.scalar(select(Video.id).where(Video.original_key == journal.key))
                if owned is None:
                    await store.delete(journal.key)
        except Exception:
            log.exception("could not clean up an interrupted upload", extra={"folder": str(folder)})
            continue
        shutil.rmtree(folder, ignore_errors=True)
        recovered += 1
        log.warning(
            "cleaned up an upload interrupted by a crash",
            extra={"folder": folder.name, "key": journal.key if journal else None},
        )
    return recovered


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
        gone = _owner_gone(folder.name, at_start_up=at_start_up)
        if (folder / RETRY_MARKER).exists() or gone or folder.stat().st_mtime < cutoff:
            found.append(folder)
    return found


def _owner_gone(name: str, *, at_start_up: bool) -> bool:
    owner = owner_pid(name, FOLDER_PREFIX)
    if owner is None:
        return True
    if owner == os.getpid():
        return at_start_up
    return not alive(owner)


def read_journal(folder: Path) -> Journal | None:
    """The S3 upload a spool folder fed, or None without a whole journal: the process died before
    starting one, or between starting it and renaming the journal into place (for that moment the
    bucket's lifecycle rule is the net)."""
    try:
        data = json.loads((folder / JOURNAL).read_text())
        return Journal(key=data["key"], upload_id=data["upload_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
