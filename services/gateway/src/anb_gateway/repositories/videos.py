"""The owner's view of videos: listing, detail, deletion and publication."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from anb_common.db.models import VideoStatus
from anb_gateway.db import Pool


@dataclass(frozen=True)
class VideoRow:
    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    status: str
    uploaded_at: datetime
    processed_at: datetime | None
    progress: int
    failure_reason: str | None
    original_key: str
    processed_key: str | None
    vote_count: int
    published: bool


_COLUMNS = (
    "id, user_id, title, status, uploaded_at, processed_at, progress, failure_reason,"
    " original_key, processed_key, vote_count, published"
)


def _row(record: asyncpg.Record) -> VideoRow:
    # Positional (the columns are selected in field order): building a dict per row cost more than the query.
    return VideoRow(*record)


async def list_for_owner(pool: Pool, user_id: uuid.UUID, limit: int, offset: int) -> list[VideoRow]:
    # id breaks ties so that pages do not overlap when two uploads share a timestamp.
    records = await pool.fetch(
        f"SELECT {_COLUMNS} FROM videos WHERE user_id = $1"  # noqa: S608 - fixed column list
        " ORDER BY uploaded_at DESC, id DESC LIMIT $2 OFFSET $3",
        user_id,
        limit,
        offset,
    )
    return [_row(record) for record in records]


async def get(pool: Pool, video_id: uuid.UUID) -> VideoRow | None:
    record = await pool.fetchrow(f"SELECT {_COLUMNS} FROM videos WHERE id = $1", video_id)  # noqa: S608
    return _row(record) if record else None


class Outcome(enum.Enum):
    DONE = "done"
    NOT_FOUND = "not_found"
    NOT_OWNER = "not_owner"
    PUBLISHED = "published"
    NOT_PROCESSED = "not_processed"


async def delete(
    pool: Pool,
    video_id: uuid.UUID,
    user_id: uuid.UUID,
    remove_objects: Callable[[VideoRow], Awaitable[None]],
) -> Outcome:
    """Delete the row and, before it commits, its objects: a storage failure keeps the row."""
    async with pool.acquire() as conn, conn.transaction():
        # FOR UPDATE: a concurrent publish or status change waits until we are done.
        record = await conn.fetchrow(
            f"SELECT {_COLUMNS} FROM videos WHERE id = $1 FOR UPDATE",  # noqa: S608
            video_id,
        )
        if record is None:
            return Outcome.NOT_FOUND
        video = _row(record)
        if video.user_id != user_id:
            return Outcome.NOT_OWNER
        if video.published:
            return Outcome.PUBLISHED
        await remove_objects(video)
        await conn.execute("DELETE FROM videos WHERE id = $1", video_id)
    return Outcome.DONE


async def publish(pool: Pool, video_id: uuid.UUID, user_id: uuid.UUID) -> Outcome:
    """Make a processed video votable and give its player a ranking row (if not there yet)."""
    async with pool.acquire() as conn, conn.transaction():
        record = await conn.fetchrow(
            "SELECT user_id, status, published FROM videos WHERE id = $1 FOR UPDATE", video_id
        )
        if record is None:
            return Outcome.NOT_FOUND
        if record["user_id"] != user_id:
            return Outcome.NOT_OWNER
        if record["published"]:
            return Outcome.PUBLISHED
        if record["status"] != VideoStatus.PROCESSED:
            return Outcome.NOT_PROCESSED
        await conn.execute("UPDATE videos SET published = true WHERE id = $1", video_id)
        await conn.execute(
            "INSERT INTO player_scores (user_id, city, votes)"
            " SELECT id, city, 0 FROM users WHERE id = $1 ON CONFLICT (user_id) DO NOTHING",
            user_id,
        )
    return Outcome.DONE
