"""The video row as the worker sees it: every write is a guarded UPDATE, so that a deleted row, a
finished video or a racing duplicate delivery is noticed (no row matched) instead of overwritten."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.db.models import Video, VideoStatus

_STARTABLE = (VideoStatus.UPLOADED, VideoStatus.PROCESSING)

GAVE_UP_REASON = (
    "We could not process your video after several attempts because of a problem on our side. "
    "Please upload it again."
)
"""Shown to the player when transient failures used up every attempt (or the job was dead-lettered)."""


class Start(enum.Enum):
    STARTED = "started"
    GONE = "gone"
    """No row: the user deleted the video."""
    DONE = "done"
    """Already processed (a duplicate delivery) or already failed: nothing to do."""


class VideoStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def start(self, video_id: uuid.UUID) -> tuple[Start, str | None]:
        """Mark the video ``processing``; returns the outcome and the original's key."""
        async with self._sessions.begin() as session:
            row = (
                await session.execute(
                    update(Video)
                    .where(Video.id == video_id, Video.status.in_(_STARTABLE))
                    .values(status=VideoStatus.PROCESSING, processing_started_at=_now(), progress=0)
                    .returning(Video.original_key)
                )
            ).first()
            if row is not None:
                return Start.STARTED, row.original_key
            exists = (await session.execute(select(Video.id).where(Video.id == video_id))).first()
            return (Start.DONE if exists else Start.GONE), None

    async def progress(self, video_id: uuid.UUID, percent: int) -> bool:
        """Record progress; False when the video is no longer ours to process (deleted, finished)."""
        return await self._guarded(video_id, (VideoStatus.PROCESSING,), progress=max(0, min(99, percent)))

    async def ping(self) -> None:
        """Raise unless the database answers."""
        async with self._sessions() as session:
            await session.execute(select(1))

    async def exists(self, video_id: uuid.UUID) -> bool:
        async with self._sessions() as session:
            return (await session.execute(select(Video.id).where(Video.id == video_id))).first() is not None

    async def processed(self, video_id: uuid.UUID, key: str) -> bool:
        """Publish the result; False when the row vanished (or was finished elsewhere) meanwhile."""
        return await self._guarded(
            video_id,
            (VideoStatus.PROCESSING,),
            status=VideoStatus.PROCESSED,
            processed_at=_now(),
            processed_key=key,
            progress=100,
            failure_reason=None,
        )

    async def failed(self, video_id: uuid.UUID, reason: str) -> bool:
        """Mark the video failed unless it is already processed (or gone)."""
        return await self._guarded(video_id, _STARTABLE, status=VideoStatus.FAILED, failure_reason=reason)

    async def _guarded(self, video_id: uuid.UUID, allowed: tuple[VideoStatus, ...], **values: object) -> bool:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Video)
                .where(Video.id == video_id, Video.status.in_(allowed))
                .values(**values)
                .returning(Video.id)
            )
            return result.first() is not None


def _now() -> datetime:
    return datetime.now(UTC)
