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
    poster_key: str | None
    storyboard_key: str | None
    hls_key: str | None
    footage_start_s: float | None
    footage_s: float | None

    @property
    def outputs(self) -> tuple[str | None, ...]:
        """The keys of what the processing (and the owner's poster pick) wrote for this video."""
        return self.processed_key, self.poster_key, self.storyboard_key, self.hls_key


_OUTPUTS = "processed_key, poster_key, storyboard_key, hls_key"
_COLUMNS = (
    "id, user_id, title, status, uploaded_at, processed_at, progress, failure_reason,"
    " original_key, processed_key, vote_count, published, poster_key, storyboard_key, hls_key,"
    " footage_start_s, footage_s"
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
    """Delete a video's objects, then its row, holding no lock and no connection while storage works.

    Holding the row lock across the S3 calls (as before) made every vote, publish and progress update
    of the video, and a pooled connection, wait on storage. Now:

    1. The row is read without a lock: unknown, not the caller's or published is refused, untouched.
    2. ``remove_objects`` deletes the original, the processed MP4 and its derivatives. If storage
       fails, the error propagates and the row stays: the player may simply delete again (nothing
       is orphaned).
    3. The row is deleted. If the owner published it meanwhile (racing their own deletion, with a
       vote possibly cast), the deletion still wins: its objects are gone, so a published row would
       be a broken video. The votes go with the row, and the player's score is lowered by them in
       the same transaction, so rankings stay the sum of published videos' votes.
    4. If an output was recorded between 1 and 3 (the transcoder's result, or a poster the owner
       picked: the row names other outputs at 3 than at 1), it may have been written after step 2:
       the objects are removed again. A result or poster recorded after 3 finds the row gone, and
       its writer removes what it wrote.
    """
    record = await pool.fetchrow(f"SELECT {_COLUMNS} FROM videos WHERE id = $1", video_id)  # noqa: S608
    if record is None:
        return Outcome.NOT_FOUND
    video = _row(record)
    if video.user_id != user_id:
        return Outcome.NOT_OWNER
    if video.published:
        return Outcome.PUBLISHED
    await remove_objects(video)
    async with pool.acquire() as conn, conn.transaction():
        gone = await conn.fetchrow(
            f"DELETE FROM videos WHERE id = $1 RETURNING published, vote_count, {_OUTPUTS}",  # noqa: S608
            video_id,
        )
        if gone is not None and gone["published"] and gone["vote_count"]:
            await conn.execute(
                "UPDATE player_scores SET votes = votes - $2 WHERE user_id = $1", user_id, gone["vote_count"]
            )
    if gone is not None and tuple(gone.values())[2:] != video.outputs:
        await remove_objects(video)
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
