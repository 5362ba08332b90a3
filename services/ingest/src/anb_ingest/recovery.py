"""Undo what a crashed ingest process left: open multipart uploads, unrecorded objects, spools.

Runs at start-up, before the app takes requests, and then periodically for uploads whose own cleanup
failed because storage was unreachable. Each orphaned spool folder (see ``spool.orphans``)
names the S3 upload it fed in its journal: the multipart upload is aborted (a no-op once it was
completed), and a completed object that no video row owns is deleted (the process died between
completing it and committing the row). An object a row owns is the video's original and stays.
Folders without a journal died before S3 was touched. A dead host takes its spool with it; the
bucket's lifecycle rule for incomplete multipart uploads is the net for that case.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.db.models import Video
from anb_ingest.spool import orphans, read_journal
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
