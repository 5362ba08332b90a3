"""The video row's processing lease, against the real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, update
from workerkit import Seeder

from anb_common import keys
from anb_common.db.models import Video
from anb_transcoder.videos import DerivativeKeys, Footage, Lease, Start, VideoStore


def lease(message_id: str = "message-1", seconds: int = 60) -> Lease:
    return Lease(holder=uuid.uuid4(), message_id=message_id, seconds=seconds)


_FOOTAGE = Footage(start_s=2.5, length_s=21.0)


def _derived(video_id: uuid.UUID, poster_version: int = 0) -> DerivativeKeys:
    poster = keys.poster_key(video_id, poster_version)
    return DerivativeKeys(poster, keys.storyboard_key(video_id), keys.hls_playlist_key(video_id))


async def test_a_claimed_video_is_busy_for_everyone_else_until_released(
    seeder: Seeder, small_clip: Path
) -> None:
    videos = VideoStore(seeder.sessions)
    video_id = await seeder.video(small_clip, upload=False)
    first = lease()
    claim = await videos.start(video_id, first)
    assert claim.outcome is Start.STARTED
    assert claim.original_key is not None
    row = await seeder.row(video_id)
    assert row is not None
    assert row.lease_expires_at is not None
    assert 50 < (row.lease_expires_at - datetime.now(UTC)).total_seconds() <= 60

    other_copy = await videos.start(video_id, lease(message_id="message-2"))
    assert other_copy.outcome is Start.BUSY
    assert not other_copy.same_message
    redelivery = await videos.start(video_id, lease(message_id="message-1"))
    assert redelivery.outcome is Start.BUSY
    assert redelivery.same_message

    assert await videos.renew(video_id, first)
    assert not await videos.renew(video_id, lease())  # not the holder: nothing changes
    await videos.release(video_id, lease())  # not the holder: nothing changes
    assert (await videos.start(video_id, lease(message_id="message-2"))).outcome is Start.BUSY

    await videos.release(video_id, first)
    assert (await videos.start(video_id, lease(message_id="message-2"))).outcome is Start.STARTED


async def test_a_lapsed_lease_can_be_claimed(seeder: Seeder, small_clip: Path) -> None:
    videos = VideoStore(seeder.sessions)
    video_id = await seeder.video(small_clip, upload=False)
    await seeder.hold(video_id, message_id="a-dead-workers-message", seconds=-1)
    taker = lease()
    assert (await videos.start(video_id, taker)).outcome is Start.STARTED
    row = await seeder.row(video_id)
    assert row is not None
    assert row.lease_holder == taker.holder


async def test_finished_and_deleted_videos_are_not_claimed(seeder: Seeder, small_clip: Path) -> None:
    videos = VideoStore(seeder.sessions)
    done = await seeder.video(small_clip, upload=False)
    holder = lease()
    await videos.start(done, holder)
    assert await videos.processed(done, "processed/x.mp4", _derived(done))
    assert (await videos.start(done, lease())).outcome is Start.DONE
    assert not await videos.renew(done, holder)
    assert (await videos.start(uuid.uuid4(), lease())).outcome is Start.GONE


async def test_processing_stores_the_derivatives_with_the_result(seeder: Seeder, small_clip: Path) -> None:
    videos = VideoStore(seeder.sessions)
    video_id = await seeder.video(small_clip, upload=False)
    await videos.start(video_id, lease())
    assert await videos.processed(video_id, keys.processed_key(video_id), _derived(video_id))
    row = await seeder.row(video_id)
    assert row is not None
    assert (row.status, row.poster_key, row.storyboard_key, row.hls_key, row.poster_version) == (
        "processed",
        f"processed/{video_id}/poster-0.jpg",
        f"processed/{video_id}/storyboard.vtt",
        f"processed/{video_id}/hls/index.m3u8",
        0,
    )


async def _processed_before_derivatives(seeder: Seeder, source: Path) -> uuid.UUID:
    """A video processed before derivatives existed: MP4 only, the derivative columns null."""
    video_id = await seeder.video(source, upload=False)
    async with seeder.sessions.begin() as session:
        await session.execute(
            update(Video)
            .where(Video.id == video_id)
            .values(status="processed", processed_key=keys.processed_key(video_id), processed_at=func.now())
        )
    return video_id


async def test_the_backfill_finds_old_videos_and_keeps_a_poster_picked_meanwhile(
    seeder: Seeder, small_clip: Path
) -> None:
    videos = VideoStore(seeder.sessions)
    old = await _processed_before_derivatives(seeder, small_clip)
    picked = await _processed_before_derivatives(seeder, small_clip)
    pending = {item.video_id: item for item in await videos.without_derivatives(limit=10_000)}
    assert {old, picked} <= pending.keys()
    assert pending[old].processed_key == keys.processed_key(old)
    # The owner picks a poster while the backfill works on the video.
    async with seeder.sessions.begin() as session:
        await session.execute(
            update(Video)
            .where(Video.id == picked)
            .values(poster_key="processed/x/poster-1.jpg", poster_version=1)
        )
    assert await videos.derived(pending[old], _derived(old), _FOOTAGE) == keys.poster_key(old, 0)
    assert await videos.derived(pending[picked], _derived(picked), _FOOTAGE) == "processed/x/poster-1.jpg"
    row = await seeder.row(picked)
    assert row is not None
    assert (row.poster_key, row.hls_key) == ("processed/x/poster-1.jpg", keys.hls_playlist_key(picked))
    assert (row.footage_start_s, row.footage_s) == (_FOOTAGE.start_s, _FOOTAGE.length_s)
    remaining = {item.video_id for item in await videos.without_derivatives(limit=10_000)}
    assert not {old, picked} & remaining
    # Deleted meanwhile: nothing stored.
    await seeder.delete(old)
    assert await videos.derived(pending[old], _derived(old), _FOOTAGE) is None
