"""VideoEvents in process, on the gateway's real pool against the session's PostgreSQL. The change feed
is not under test here (test_changes.py, test_events_endpoint.py): its calls are made directly, as
the notices would make them, so that each rule of the correctness argument is checked on its own."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from anb_cli.sse import Comment, Decoder, Event
from anb_common.db.models import VideoStatus
from anb_common.settings import DatabaseSettings
from anb_devstack.postgres import EmbeddedPostgres
from anb_gateway import db
from anb_gateway.events import VideoEvents
from anb_gateway.settings import EventsSettings
from gateway.conftest import Videos

DEADLINE_S = 30.0


@pytest.fixture(scope="module")
async def pool(db_settings: DatabaseSettings) -> AsyncIterator[db.Pool]:
    opened = await db.create_pool(db_settings)
    yield opened
    await opened.close()


@pytest.fixture
async def connection(postgres: EmbeddedPostgres) -> AsyncIterator[asyncpg.Connection]:
    opened = await asyncpg.connect(postgres.dsn)
    yield opened
    await opened.close()


@pytest.fixture
async def owner(connection: asyncpg.Connection) -> uuid.UUID:
    user_id = uuid.uuid4()
    await connection.execute(
        "INSERT INTO users (id, first_name, last_name, email, password_hash, city, country)"
        " VALUES ($1, 'Tato', 'Gil', $2, 'x', 'Ibagué', 'Colombia')",
        user_id, f"tato-{user_id.hex[:8]}@example.com",
    )  # fmt: skip
    return user_id


@contextlib.asynccontextmanager
async def hub(pool: db.Pool, **settings: float) -> AsyncIterator[VideoEvents]:
    events = VideoEvents(EventsSettings(keepalive_s=0.2, **settings))
    events.start(pool)
    try:
        yield events
    finally:
        await events.close()


class Client:
    """One stream's body, read as a client would, in the background."""

    def __init__(self, events: VideoEvents, owner: uuid.UUID, last_event_id: str | None = None) -> None:
        self.items: list[Event | Comment] = []
        self.ended = asyncio.Event()
        self._task = asyncio.create_task(self._read(events.follow(owner, last_event_id)))

    async def _read(self, body: AsyncIterator[bytes]) -> None:
        decoder = Decoder()
        try:
            async for chunk in body:
                for line in chunk.decode().split("\n"):
                    item = decoder.feed(line)
                    if item is not None:
                        self.items.append(item)
        finally:
            self.ended.set()

    def events(self) -> list[tuple[str, str, int | None, str]]:
        """(video_id, status, progress, id) of each event so far."""
        found = []
        for item in self.items:
            if isinstance(item, Event):
                data = json.loads(item.data)
                found.append((data["video_id"], data["status"], data["progress"], str(item.id)))
        return found

    async def settled(self, count: int = 0) -> list[tuple[str, str, int | None, str]]:
        """The events so far, once there are ``count`` more and a keepalive came after them."""
        wanted = len(self.events()) + count
        async with asyncio.timeout(DEADLINE_S):
            while len(self.events()) < wanted:
                await asyncio.sleep(0.02)
            keepalives = self.items.count(Comment("keepalive"))
            while self.items.count(Comment("keepalive")) <= keepalives:
                await asyncio.sleep(0.02)
        return self.events()

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


async def test_a_resume_needs_the_player_watched_since_the_id(
    pool: db.Pool, owner: uuid.UUID, videos: Videos, connection: asyncpg.Connection
) -> None:
    moving = await videos.add(owner, VideoStatus.PROCESSING, progress=10)
    still = await videos.add(owner, VideoStatus.UPLOADED)
    resumed = [(str(moving), "processing", 30)]
    snapshot = sorted([(str(moving), "processing", 30), (str(still), "uploaded", 0)])
    for window_s, expected in ((60.0, resumed), (0.0, snapshot)):
        async with hub(pool, resume_window_s=window_s) as events:
            first = Client(events, owner)
            last = (await first.settled(2))[-1][3]
            await first.close()
            await connection.execute("UPDATE videos SET progress = 30 WHERE id = $1", moving)
            # Within the window the player is still watched and the change is read; past it, it is
            # not, and the reconnect cannot resume: the snapshot comes instead.
            events.video_changed(owner, moving)
            back = Client(events, owner, last)
            got = sorted(event[:3] for event in await back.settled(len(expected)))
            await back.close()
            await connection.execute("UPDATE videos SET progress = 10 WHERE id = $1", moving)
        assert got == expected, window_s


async def test_after_a_gap_in_the_feed_every_stream_gets_the_snapshot_and_old_ids_are_void(
    pool: db.Pool, owner: uuid.UUID, videos: Videos, connection: asyncpg.Connection
) -> None:
    finishing = await videos.add(owner, VideoStatus.PROCESSING, progress=50)
    waiting = await videos.add(owner, VideoStatus.UPLOADED)
    async with hub(pool) as events:
        client = Client(events, owner)
        before = await client.settled(2)
        # Finished while the feed was down: no notice came. The snapshot leaves finished videos out,
        # but this one was shown to this player as unfinished, so its end is sent too.
        await connection.execute(
            "UPDATE videos SET status = 'processed', progress = 100, processed_at = now() WHERE id = $1",
            finishing,
        )
        events.missed()
        after = (await client.settled(2))[len(before) :]
        assert sorted(event[:3] for event in after) == sorted(
            [(str(finishing), "processed", 100), (str(waiting), "uploaded", 0)]
        )
        assert [int(event[3]) for event in before + after] == sorted(
            int(event[3]) for event in before + after
        )
        # An id from before the gap is not resumed from: the snapshot again.
        late = Client(events, owner, before[-1][3])
        assert [event[:3] for event in await late.settled(1)] == [(str(waiting), "uploaded", 0)]
        await late.close()
        await client.close()


async def test_a_client_that_does_not_read_is_cut_off(
    pool: db.Pool, owner: uuid.UUID, videos: Videos, connection: asyncpg.Connection
) -> None:
    video = await videos.add(owner, VideoStatus.PROCESSING)
    async with hub(pool, max_pending=3) as events:
        body = events.follow(owner, None)
        assert await anext(body) == b": connected\n\n"  # registered; nothing read after this
        for progress in range(1, 6):
            await connection.execute("UPDATE videos SET progress = $2 WHERE id = $1", video, progress)
            events.video_changed(owner, video)
            await asyncio.sleep(0.1)
        # More than max_pending frames waited: the stream ends without them.
        assert [chunk async for chunk in body] == []


async def test_stopping_ends_every_stream_and_opens_no_more(pool: db.Pool, owner: uuid.UUID) -> None:
    async with hub(pool) as events:
        client = Client(events, owner)
        await client.settled()
        events.stop_streams()
        async with asyncio.timeout(DEADLINE_S):
            await client.ended.wait()
        assert [chunk async for chunk in events.follow(owner, None)] == [b": connected\n\n"]
