"""The video row and its job message, written in one transaction (the transactional outbox)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common import messages
from anb_common.db.models import OutboxMessage, Video, VideoStatus
from anb_common.media import MediaFacts


@dataclass(frozen=True, slots=True)
class NewVideo:
    video_id: uuid.UUID
    user_id: uuid.UUID
    title: str
    key: str
    size_bytes: int
    checksum_sha256: str
    facts: MediaFacts
    request_id: str | None = None
    """The upload request's id, published with the job (a message attribute)."""


async def record(
    sessions: async_sessionmaker[AsyncSession],
    video: NewVideo,
    also: Callable[[AsyncSession], Awaitable[None]] | None = None,
) -> int:
    """Insert the video (status ``uploaded``) and its pending job message; return the outbox id.
    ``also`` runs in the same transaction (a resumable upload's row goes with it: one or the other
    exists, never both or neither)."""
    body = messages.encode(messages.JobMessage.for_upload(video.video_id, video.key))
    async with sessions.begin() as session:
        if also is not None:
            await also(session)
        facts = video.facts
        session.add(
            Video(
                id=video.video_id,
                user_id=video.user_id,
                title=video.title,
                status=VideoStatus.UPLOADED,
                original_key=video.key,
                container=facts.container.value,
                codec=facts.codec,
                size_bytes=video.size_bytes,
                duration_s=facts.duration_s,
                width=facts.width,
                height=facts.height,
                checksum_sha256=video.checksum_sha256,
            )
        )
        outbox = OutboxMessage(video_id=video.video_id, body=body, request_id=video.request_id)
        session.add(outbox)
        await session.flush()
        return outbox.id
