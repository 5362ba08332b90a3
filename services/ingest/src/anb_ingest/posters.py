"""The owner's poster pick: the frame at a moment of the player's footage, taken from the processed
MP4, becomes the video's poster (``POST /api/videos/{id}/poster``, relayed by the gateway).

Why here: the gateway never loads PyAV, and a transcoder job would queue behind transcodes (minutes
on a busy worker) while the owner waits for the answer. Ingest already decodes in bounded child
processes (``prober``), reads and writes the bucket, and writes video rows. The pick costs a download
of the processed MP4 (a few MB) into the spool and one decoded keyframe interval (two seconds of
720p at most) in a child with a probe's memory and time limits, sharing the probes' slots.

Storing it: the row is locked (``FOR NO KEY UPDATE``: a concurrent pick, a vote's count or a
deletion waits for one JPEG's upload, tens of milliseconds), the JPEG is uploaded under the next
version's key, the row is moved to it, and once committed the old poster is deleted. A pick racing
a deletion either finds the row gone (nothing stored) or is seen by the deletion, which removes what
the row names after it.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common import keys
from anb_common.db.models import Video, VideoStatus
from anb_common.poster_api import PosterRule
from anb_common.reasons import Value
from anb_ingest.errors import OUTAGES, DependencyUnavailable
from anb_ingest.prober import ChildFailed, Prober
from anb_ingest.spool import Spool

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

log = logging.getLogger(__name__)

_DOWNLOAD_CHUNK = 1024 * 1024


class PosterRefused(Exception):
    def __init__(self, rule: PosterRule, **values: Value) -> None:
        super().__init__(rule)
        self.rule = rule
        self.values = values


@dataclass(frozen=True, slots=True)
class _Pickable:
    processed_key: str
    moment_s: float
    """Seconds into the processed MP4."""


class Posters:
    def __init__(
        self,
        s3: S3Client,
        bucket: str,
        sessions: async_sessionmaker[AsyncSession],
        prober: Prober,
        temp_dir: Path,
    ) -> None:
        self._s3 = s3
        self._bucket = bucket
        self._sessions = sessions
        self._prober = prober
        self._temp_dir = temp_dir

    async def pick(self, video_id: uuid.UUID, user_id: uuid.UUID, time_s: float) -> str:
        """Make the frame ``time_s`` seconds into the footage of ``video_id`` its poster; returns the
        poster's key. ``PosterRefused`` when a rule forbids it or a dependency failed (nothing
        changed then)."""
        try:
            async with self._sessions() as session:
                row = await session.get(Video, video_id)
                pickable = _pickable(row, user_id, time_s)
            jpeg = await self._extract(pickable)
            return await self._store(video_id, pickable.processed_key, jpeg)
        except OUTAGES as exc:
            log.error("poster pick of %s failed on a dependency: %r", video_id, exc)
            raise PosterRefused(PosterRule.UNAVAILABLE) from exc

    async def _extract(self, pickable: _Pickable) -> bytes:
        spool = Spool(self._temp_dir, "processed.mp4", hashed=False)
        try:
            response = await self._s3.get_object(Bucket=self._bucket, Key=pickable.processed_key)
            stream = response["Body"]
            try:
                async for chunk in stream.iter_chunks(_DOWNLOAD_CHUNK):
                    await spool.write(chunk)
            finally:
                stream.close()
            spool.seal()
            # The child is the only process that decodes: this one never loads PyAV.
            return await self._prober.run(_poster_jpeg, spool.path, pickable.moment_s, name="anb-poster")
        except (ChildFailed, DependencyUnavailable) as exc:
            log.error("no poster could be taken from %s: %s", pickable.processed_key, exc)
            raise PosterRefused(PosterRule.UNAVAILABLE) from exc
        finally:
            spool.close()

    async def _store(self, video_id: uuid.UUID, processed_key: str, jpeg: bytes) -> str:
        async with self._sessions.begin() as session:
            row = (
                await session.execute(
                    select(Video.status, Video.processed_key, Video.poster_key, Video.poster_version)
                    .where(Video.id == video_id)
                    .with_for_update(key_share=True)  # FOR NO KEY UPDATE
                )
            ).first()
            if row is None:
                raise PosterRefused(PosterRule.NOT_FOUND)
            if row.status != VideoStatus.PROCESSED or row.processed_key != processed_key:
                raise PosterRefused(PosterRule.NOT_PROCESSED)
            version = row.poster_version + 1
            key = keys.poster_key(video_id, version)
            await self._s3.put_object(Bucket=self._bucket, Key=key, Body=jpeg, ContentType="image/jpeg")
            try:
                await session.execute(
                    update(Video).where(Video.id == video_id).values(poster_key=key, poster_version=version)
                )
                await session.commit()
            except Exception:
                # Not stored: the new object must not outlive the row's refusal of it.
                await self._s3.delete_object(Bucket=self._bucket, Key=key)
                raise
        if row.poster_key is not None and row.poster_key != key:
            try:
                await self._s3.delete_object(Bucket=self._bucket, Key=row.poster_key)
            except Exception:
                log.exception("the replaced poster %s could not be deleted; it is left over", row.poster_key)
        return key


def _poster_jpeg(path: Path, moment_s: float) -> bytes:
    """The child's work: the frame at ``moment_s`` of ``path`` as a poster JPEG."""
    # Already imported by the fork server; importing it here keeps PyAV out of the parent.
    from anb_common.media.stills import poster_jpeg

    return poster_jpeg(path, moment_s)


def _pickable(row: Video | None, user_id: uuid.UUID, time_s: float) -> _Pickable:
    """Where in the processed MP4 the pick lies, if the rules allow it."""
    if row is None:
        raise PosterRefused(PosterRule.NOT_FOUND)
    if row.user_id != user_id:
        raise PosterRefused(PosterRule.NOT_OWNER)
    if row.status != VideoStatus.PROCESSED or row.processed_key is None:
        raise PosterRefused(PosterRule.NOT_PROCESSED)
    if row.footage_start_s is None or row.footage_s is None:
        raise PosterRefused(PosterRule.NO_FOOTAGE_BOUNDS)
    # The footage's last frame starts before footage_s: the moment footage_s itself is the outro's.
    if not (math.isfinite(time_s) and 0 <= time_s < row.footage_s):
        raise PosterRefused(PosterRule.OUT_OF_RANGE, footage_s=round(row.footage_s, 3))
    return _Pickable(row.processed_key, row.footage_start_s + time_s)
