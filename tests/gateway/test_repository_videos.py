"""Deleting a video against the real PostgreSQL and S3: no row lock is held while storage is called,
and what other services or the owner do meanwhile (lock the row, publish and collect a vote, record a
result) ends with nothing left behind and the scores consistent."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import asyncpg
import pytest

from anb_common.aws import Aws
from anb_common.db.dsn import libpq_url
from anb_common.db.models import VideoStatus
from anb_common.keys import processed_key
from anb_common.settings import DatabaseSettings
from anb_gateway.db import Pool, create_pool
from anb_gateway.repositories import public
from anb_gateway.repositories.videos import Outcome, VideoRow, delete, publish
from anb_gateway.storage import S3Storage
from gateway.conftest import Player, Videos


@pytest.fixture(scope="module")
async def pool(db_settings: DatabaseSettings) -> AsyncIterator[Pool]:
    opened = await create_pool(db_settings)
    yield opened
    await opened.close()


@pytest.fixture(scope="module")
async def storage(aws: Aws) -> AsyncIterator[S3Storage]:
    opened = S3Storage(aws, 3600)
    await opened.start()
    yield opened
    await opened.close()


@pytest.fixture
async def other_session(db_settings: DatabaseSettings) -> AsyncIterator[asyncpg.Connection]:
    """Another service's connection, acting while the gateway talks to storage."""
    connection = await asyncpg.connect(libpq_url(db_settings.url))
    # Waiting on a lock would hang the test (the deletion awaits this very session): refuse at once.
    await connection.execute("SET lock_timeout = '1s'")
    yield connection
    await connection.close()


Remover = Callable[[VideoRow], Awaitable[None]]


def removing_with(storage: S3Storage, meanwhile: Callable[[], Awaitable[None]]) -> Remover:
    """The controller's object removal, with something another party does during the first call."""
    calls = 0

    async def remove(video: VideoRow) -> None:
        nonlocal calls
        calls += 1
        await storage.delete(video.original_key, video.processed_key or processed_key(video.id))
        if calls == 1:
            await meanwhile()

    return remove


async def test_no_row_lock_is_held_while_storage_is_called(
    pool: Pool, storage: S3Storage, videos: Videos, owner: Player, other_session: asyncpg.Connection
) -> None:
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSED, original=b"o", processed=b"p")

    async def lock_the_row() -> None:
        # A vote, a publish or the transcoder's progress update takes this lock; it must not wait
        # for storage. (Before, the deletion held it across the S3 calls: LockNotAvailableError.)
        async with other_session.transaction():
            await other_session.execute("SELECT 1 FROM videos WHERE id = $1 FOR UPDATE NOWAIT", video_id)

    outcome = await delete(pool, video_id, owner.user_id, removing_with(storage, lock_the_row))
    assert outcome is Outcome.DONE
    assert not await videos.exists(video_id)
    assert await videos.object_keys(video_id) == []


async def test_a_publish_and_a_vote_that_slip_in_lose_to_the_deletion(
    pool: Pool,
    storage: S3Storage,
    videos: Videos,
    owner: Player,
    other: Player,
    other_session: asyncpg.Connection,
) -> None:
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSED, original=b"o", processed=b"p")
    before = await pool.fetchval(
        "SELECT coalesce(sum(votes), 0) FROM player_scores WHERE user_id = $1", owner.user_id
    )

    async def publish_and_vote() -> None:
        # The owner publishes from another tab while deleting; a voter is quick.
        assert await publish(pool, video_id, owner.user_id) is Outcome.DONE
        assert await public.vote(pool, other.user_id, video_id) is public.VoteOutcome.COUNTED

    outcome = await delete(pool, video_id, owner.user_id, removing_with(storage, publish_and_vote))
    assert outcome is Outcome.DONE
    assert not await videos.exists(video_id)
    assert await videos.object_keys(video_id) == []
    assert await pool.fetchval("SELECT count(*) FROM votes WHERE video_id = $1", video_id) == 0
    after = await pool.fetchval(
        "SELECT coalesce(sum(votes), 0) FROM player_scores WHERE user_id = $1", owner.user_id
    )
    assert after == before


async def test_a_result_recorded_while_objects_are_removed_does_not_outlive_the_row(
    pool: Pool, storage: S3Storage, videos: Videos, aws: Aws, owner: Player, other_session: asyncpg.Connection
) -> None:
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSING, original=b"o")

    async def transcoder_finishes() -> None:
        async with aws.s3() as s3:
            await s3.put_object(Bucket=aws.settings.bucket, Key=processed_key(video_id), Body=b"result")
        await other_session.execute(
            "UPDATE videos SET status = 'processed', processed_key = $2, processed_at = now() WHERE id = $1",
            video_id,
            processed_key(video_id),
        )

    outcome = await delete(pool, video_id, owner.user_id, removing_with(storage, transcoder_finishes))
    assert outcome is Outcome.DONE
    assert not await videos.exists(video_id)
    assert await videos.object_keys(video_id) == []


@pytest.mark.parametrize(
    ("status", "published", "caller_is_owner", "expected"),
    [
        (VideoStatus.PROCESSED, True, True, Outcome.PUBLISHED),
        (VideoStatus.UPLOADED, False, False, Outcome.NOT_OWNER),
    ],
)
async def test_a_refused_deletion_touches_nothing(
    pool: Pool,
    storage: S3Storage,
    videos: Videos,
    owner: Player,
    other: Player,
    status: VideoStatus,
    published: bool,
    caller_is_owner: bool,
    expected: Outcome,
) -> None:
    video_id = await videos.add(owner.user_id, status, published=published, original=b"o")
    caller = owner if caller_is_owner else other

    async def never(video: VideoRow) -> None:
        raise AssertionError("storage was called for a refused deletion")

    assert await delete(pool, video_id, caller.user_id, never) is expected
    assert await videos.exists(video_id)
    assert await videos.object_keys(video_id) == [f"uploads/{video_id}.mp4"]
    assert await delete(pool, uuid.uuid4(), owner.user_id, never) is Outcome.NOT_FOUND


async def test_a_vote_racing_the_row_deletion_finds_no_video(
    pool: Pool, videos: Videos, owner: Player, other: Player, other_session: asyncpg.Connection
) -> None:
    # Step 3 of a deletion that a publish slipped into: the row is being deleted as a vote arrives.
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSED, published=True)
    await other_session.execute("SET lock_timeout = 0")
    deleting = other_session.transaction()
    await deleting.start()
    await other_session.execute("DELETE FROM videos WHERE id = $1", video_id)
    vote = asyncio.create_task(public.vote(pool, other.user_id, video_id))
    while not await pool.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted"):
        await asyncio.sleep(0.02)
    await deleting.commit()
    # Not a foreign-key violation (a 500) from inserting a vote for a row that is gone.
    assert await vote is public.VoteOutcome.NOT_FOUND
