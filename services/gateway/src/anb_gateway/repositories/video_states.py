"""What a video's live event shows (status, progress, failure, processing time), read for many at once."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from anb_common.db.models import VideoStatus
from anb_gateway.db import Pool


@dataclass(frozen=True)
class VideoState:
    id: uuid.UUID
    user_id: uuid.UUID
    status: str
    progress: int
    failure_reason: str | None
    processed_at: datetime | None


_COLUMNS = "id, user_id, status, progress, failure_reason, processed_at"
_UNFINISHED = (VideoStatus.UPLOADED.value, VideoStatus.PROCESSING.value)


async def of_videos(pool: Pool, ids: list[uuid.UUID]) -> list[VideoState]:
    """The videos among ``ids`` that still exist."""
    records = await pool.fetch(f"SELECT {_COLUMNS} FROM videos WHERE id = ANY($1::uuid[])", ids)  # noqa: S608
    return [VideoState(*record) for record in records]


async def snapshot(pool: Pool, owners: list[uuid.UUID], also: list[uuid.UUID]) -> list[VideoState]:
    """The videos of ``owners`` not yet processed or failed, and the videos ``also`` named, whatever
    their state; each owner's oldest first."""
    records = await pool.fetch(
        f"SELECT {_COLUMNS} FROM videos"  # noqa: S608 - fixed column list
        " WHERE (user_id = ANY($1::uuid[]) AND status = ANY($2::text[])) OR id = ANY($3::uuid[])"
        " ORDER BY user_id, uploaded_at, id",
        owners,
        list(_UNFINISHED),
        also,
    )
    return [VideoState(*record) for record in records]
