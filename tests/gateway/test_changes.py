"""The change feed against the real PostgreSQL and the triggers of migration 0002.

Notices travel asynchronously, so each check waits for the expected event (up to a generous deadline:
only a notice that never comes fails, not a slow machine)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from anb_common.db.models import VideoStatus
from anb_devstack.postgres import EmbeddedPostgres
from anb_gateway.changes import APPLICATION_NAME, ChangeFeed
from gateway.conftest import Videos

DEADLINE_S = 30.0


class Recorder:
    """Stands where OwnerListings stands, writing down what it is told."""

    def __init__(self) -> None:
        self.events: list[tuple[str, uuid.UUID | None]] = []

    def changed(self, owner: uuid.UUID) -> None:
        self.events.append(("changed", owner))

    def clear(self) -> None:
        self.events.append(("clear", None))

    def start_serving(self) -> None:
        self.events.append(("start", None))

    def stop_serving(self) -> None:
        self.events.append(("stop", None))

    async def wait_for(self, event: tuple[str, uuid.UUID | None], after: int = 0) -> int:
        """Index of the first ``event`` at or after ``after``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEADLINE_S
        while loop.time() < deadline:
            if event in self.events[after:]:
                return self.events.index(event, after)
            await asyncio.sleep(0.02)
        raise AssertionError(f"{event} not seen in {DEADLINE_S} s; saw {self.events[after:]}")

    def changes_of(self, owner: uuid.UUID) -> int:
        return self.events.count(("changed", owner))


@pytest.fixture
async def connection(postgres: EmbeddedPostgres) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(postgres.dsn)
    yield connection
    await connection.close()


async def new_player(connection: asyncpg.Connection) -> uuid.UUID:
    user_id = uuid.uuid4()
    await connection.execute(
        "INSERT INTO users (id, first_name, last_name, email, password_hash, city, country)"
        " VALUES ($1, 'Eva', 'Ríos', $2, 'x', 'Cali', 'Colombia')",
        user_id, f"eva-{user_id.hex[:8]}@example.com",
    )  # fmt: skip
    return user_id


@pytest.fixture
async def owner(connection: asyncpg.Connection) -> uuid.UUID:
    return await new_player(connection)


@pytest.fixture
async def feed(postgres: EmbeddedPostgres) -> AsyncIterator[Recorder]:
    recorder = Recorder()
    change_feed = ChangeFeed(postgres.dsn, recorder)
    change_feed.start()
    await recorder.wait_for(("start", None))
    yield recorder
    await change_feed.close()


async def test_adding_changing_and_removing_a_video_notify_its_owner(
    feed: Recorder, owner: uuid.UUID, connection: asyncpg.Connection, videos: Videos
) -> None:
    video_id = await videos.add(owner)
    seen = await feed.wait_for(("changed", owner))
    await connection.execute("UPDATE videos SET status = 'processing' WHERE id = $1", video_id)
    seen = await feed.wait_for(("changed", owner), seen + 1)
    await connection.execute("DELETE FROM videos WHERE id = $1", video_id)
    await feed.wait_for(("changed", owner), seen + 1)


async def test_progress_and_votes_do_not_notify(
    feed: Recorder, owner: uuid.UUID, connection: asyncpg.Connection, videos: Videos
) -> None:
    video_id = await videos.add(owner, VideoStatus.PROCESSING)
    await feed.wait_for(("changed", owner))
    before = feed.changes_of(owner)
    await connection.execute("UPDATE videos SET progress = 40, vote_count = 3 WHERE id = $1", video_id)
    # Notices arrive in commit order: once a later change of someone else is heard, a notice for
    # the progress write would have been heard before it.
    marker = await new_player(connection)
    await videos.add(marker)
    await feed.wait_for(("changed", marker))
    assert feed.changes_of(owner) == before


async def test_a_lost_connection_stops_serving_until_listening_again(
    feed: Recorder, owner: uuid.UUID, connection: asyncpg.Connection, videos: Videos
) -> None:
    killed = await connection.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
        APPLICATION_NAME,
    )
    assert killed >= 1
    stopped = await feed.wait_for(("stop", None))
    restarted = await feed.wait_for(("start", None), stopped + 1)
    # Listening again: a change is heard.
    await videos.add(owner)
    await feed.wait_for(("changed", owner), restarted + 1)
