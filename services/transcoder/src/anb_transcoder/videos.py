"""The video row as the worker sees it: every write is a guarded UPDATE, so that a deleted row, a
finished video or a racing duplicate delivery is noticed (no row matched) instead of overwritten."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common import reasons
from anb_common.db.models import Video, VideoStatus
from anb_common.reasons import Reason

_STARTABLE = (VideoStatus.UPLOADED, VideoStatus.PROCESSING)


class Start(enum.Enum):
    STARTED = "started"
    GONE = "gone"
    """No row: the user deleted the video."""
    DONE = "done"
    """Already processed (a duplicate delivery) or already failed: nothing to do."""
    BUSY = "busy"
    """Another job holds the video's lease: it is being processed right now."""


@dataclass(frozen=True)
class Lease:
    """What a job holds the video by while it processes it."""

    holder: uuid.UUID
    """This job's own token (a fresh one per received message)."""
    message_id: str
    """The SQS message the job came in: a second receive of that same message is told apart."""
    seconds: int
    """How long the claim lasts unless renewed: the queue's visibility timeout, renewed with it."""


@dataclass(frozen=True)
class DerivativeKeys:
    """Where a processed video's derivatives are (``anb_common.keys``)."""

    poster: str
    storyboard: str
    """The WebVTT file; the sprite is beside it."""
    hls: str
    """The playlist; its segments are beside it."""


@dataclass(frozen=True)
class Footage:
    """Where the player's footage lies in the processed MP4, between the cards: the owner's poster
    pick counts its moment from ``start_s``."""

    start_s: float
    length_s: float


@dataclass(frozen=True)
class Pending:
    """A processed video without its derivatives (processed before they existed)."""

    video_id: uuid.UUID
    processed_key: str
    poster_key: str | None
    """Set when the owner already picked a poster: the backfill keeps it."""
    poster_version: int


@dataclass(frozen=True)
class Claim:
    outcome: Start
    original_key: str | None = None
    """STARTED: the original's key."""
    uploaded_at: datetime | None = None
    """STARTED: when the upload was recorded (the start of its end-to-end time)."""
    same_message: bool = False
    """BUSY: the holder got this very message (an SQS redelivery), not another copy of the job."""


class VideoStore:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def start(self, video_id: uuid.UUID, lease: Lease) -> Claim:
        """Mark the video ``processing`` under ``lease``, unless another job's lease is still running.

        Lease times are the database's clock, so workers with skewed clocks still agree."""
        free = or_(Video.lease_expires_at.is_(None), Video.lease_expires_at < func.now())
        claimable = or_(
            Video.status == VideoStatus.UPLOADED, and_(Video.status == VideoStatus.PROCESSING, free)
        )
        async with self._sessions.begin() as session:
            row = (
                await session.execute(
                    update(Video)
                    .where(Video.id == video_id, claimable)
                    .values(
                        status=VideoStatus.PROCESSING,
                        processing_started_at=_now(),
                        progress=0,
                        lease_holder=lease.holder,
                        lease_message_id=lease.message_id,
                        lease_expires_at=func.now() + timedelta(seconds=lease.seconds),
                    )
                    .returning(Video.original_key, Video.uploaded_at)
                )
            ).first()
            if row is not None:
                return Claim(Start.STARTED, original_key=row.original_key, uploaded_at=row.uploaded_at)
            current = (
                await session.execute(
                    select(Video.status, Video.lease_message_id).where(Video.id == video_id)
                )
            ).first()
            if current is None:
                return Claim(Start.GONE)
            status, holder_message = current
            if status != VideoStatus.PROCESSING:
                return Claim(Start.DONE)
            return Claim(Start.BUSY, same_message=holder_message == lease.message_id)

    async def renew(self, video_id: uuid.UUID, lease: Lease) -> bool:
        """Extend the lease by its length from now; False when this job no longer holds it."""
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(Video)
                .where(
                    Video.id == video_id,
                    Video.lease_holder == lease.holder,
                    Video.status == VideoStatus.PROCESSING,
                )
                .values(lease_expires_at=func.now() + timedelta(seconds=lease.seconds))
                .returning(Video.id)
            )
            return result.first() is not None

    async def release(self, video_id: uuid.UUID, lease: Lease) -> None:
        """Give the lease up (the job ended, or hands the video back to the queue)."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(Video)
                .where(Video.id == video_id, Video.lease_holder == lease.holder)
                .values(lease_holder=None, lease_message_id=None, lease_expires_at=None)
            )

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

    async def processed(
        self, video_id: uuid.UUID, key: str, derivatives: DerivativeKeys, footage: Footage | None = None
    ) -> bool:
        """Publish the result, derivatives (and where the footage lies) included; False when the row
        vanished (or was finished elsewhere) meanwhile."""
        return await self._guarded(
            video_id,
            (VideoStatus.PROCESSING,),
            status=VideoStatus.PROCESSED,
            processed_at=_now(),
            processed_key=key,
            poster_key=derivatives.poster,
            storyboard_key=derivatives.storyboard,
            hls_key=derivatives.hls,
            footage_start_s=None if footage is None else footage.start_s,
            footage_s=None if footage is None else footage.length_s,
            progress=100,
            failure_reason=None,
        )

    async def without_derivatives(self, limit: int) -> list[Pending]:
        """Processed videos that lack a derivative, oldest first."""
        missing = or_(Video.poster_key.is_(None), Video.storyboard_key.is_(None), Video.hls_key.is_(None))
        async with self._sessions() as session:
            rows = await session.execute(
                select(Video.id, Video.processed_key, Video.poster_key, Video.poster_version)
                .where(Video.status == VideoStatus.PROCESSED, Video.processed_key.is_not(None), missing)
                .order_by(Video.processed_at, Video.id)
                .limit(limit)
            )
            return [Pending(row.id, row.processed_key, row.poster_key, row.poster_version) for row in rows]

    async def derived(self, pending: Pending, derivatives: DerivativeKeys, footage: Footage) -> str | None:
        """Store the derivatives of a video the backfill worked on, and where its footage lies unless
        the row already says, keeping a poster the owner picked meanwhile; returns the poster key the
        row keeps, or None when the video is gone (deleted, or its MP4 replaced) and nothing was
        stored."""
        async with self._sessions.begin() as session:
            row = (
                await session.execute(
                    update(Video)
                    .where(
                        Video.id == pending.video_id,
                        Video.status == VideoStatus.PROCESSED,
                        Video.processed_key == pending.processed_key,
                    )
                    .values(
                        poster_key=func.coalesce(Video.poster_key, derivatives.poster),
                        storyboard_key=derivatives.storyboard,
                        hls_key=derivatives.hls,
                        footage_start_s=func.coalesce(Video.footage_start_s, footage.start_s),
                        footage_s=func.coalesce(Video.footage_s, footage.length_s),
                    )
                    .returning(Video.poster_key)
                )
            ).first()
            return None if row is None else str(row.poster_key)

    async def failed(self, video_id: uuid.UUID, reason: Reason) -> bool:
        """Mark the video failed unless it is already processed (or gone); ``reason`` is stored as its
        code with values, which the gateway words for the player."""
        return await self._guarded(
            video_id, _STARTABLE, status=VideoStatus.FAILED, failure_reason=reasons.encode(reason)
        )

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
