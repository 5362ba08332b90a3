"""The video row's processing lease, against the real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

from workerkit import Seeder

from anb_transcoder.videos import Lease, Start, VideoStore


def lease(message_id: str = "message-1", seconds: int = 60) -> Lease:
    return Lease(holder=uuid.uuid4(), message_id=message_id, seconds=seconds)


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
    assert await videos.processed(done, "processed/x.mp4")
    assert (await videos.start(done, lease())).outcome is Start.DONE
    assert not await videos.renew(done, holder)
    assert (await videos.start(uuid.uuid4(), lease())).outcome is Start.GONE
