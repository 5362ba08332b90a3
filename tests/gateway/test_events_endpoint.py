"""``GET /api/videos/events`` on a real gateway process (a keepalive every 0.5 s) against the session's
PostgreSQL: snapshot, live changes, ids, resume by Last-Event-ID, keepalives, who sees what, and the
recovery of the LISTEN connection. Changes are written as the transcoder writes them (plain UPDATEs of
the row), so the notices are the triggers' own."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from anb_common import reasons
from anb_common.db.models import VideoStatus
from anb_common.reasons import ProcessingFailure, Reason
from anb_devstack.postgres import EmbeddedPostgres
from anb_gateway import wording
from anb_gateway.changes import APPLICATION_NAME
from anb_gateway.web.session import SESSION_COOKIE
from gateway.conftest import Gateway, Player, Videos, own_gateway, sign_up
from gateway.event_streams import Reader, Received, listening

RECOVERY_S = 5.0
"""The issue's bound on the feed's recovery after its connection is killed."""
STOP_S = 30.0
"""Generous: a stop that hangs fails, not a slow one."""


@pytest.fixture(scope="module")
def events_gateway(gateway_env: dict[str, str], session_tmp: Path) -> Iterator[Gateway]:
    env = {**gateway_env, "ANB_EVENTS_KEEPALIVE_S": "0.5"}
    with own_gateway(env, session_tmp / "events-gateway.log") as started:
        yield started


@pytest.fixture
async def client(events_gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=events_gateway.url, timeout=30) as opened:
        yield opened


@pytest.fixture
async def player(client: httpx.AsyncClient) -> Player:
    return await sign_up(client, "Rosa", "Quintero", "Neiva")


@pytest.fixture
async def db(postgres: EmbeddedPostgres) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(postgres.dsn)
    yield connection
    await connection.close()


async def notices_delivered(client: httpx.AsyncClient, videos: Videos, db: asyncpg.Connection) -> None:
    """Wait until the gateway has heard every notice of the changes committed so far: notices come
    in commit order, so a later change heard by another player's stream means the earlier ones were."""
    marker = await sign_up(client, "Marca", "Tiempo", "Neiva")
    video = await videos.add(marker.user_id, VideoStatus.PROCESSING)
    async with listening(client, marker.auth) as stream:
        seen = await stream.settled(1)
        await db.execute("UPDATE videos SET progress = 1 WHERE id = $1", video)
        await stream.wait_for_video(video, after=seen, progress=1)


async def snapshot_of(stream: Reader, count: int) -> list[Received]:
    """The ``count`` events sent on connect, and any more sent with them (before the next keepalive)."""
    return stream.events(before=await stream.settled(count))


def summary(events: list[Received]) -> list[tuple[str, str, int | None]]:
    return sorted((got.data["video_id"], got.data["status"], got.data["progress"]) for got in events)


def ids(stream: Reader) -> list[int]:
    return [int(str(got.item.id)) for got in stream.events()]  # type: ignore[union-attr]


async def test_a_stream_opens_with_one_event_per_unfinished_video(
    client: httpx.AsyncClient, player: Player, videos: Videos, db: asyncpg.Connection
) -> None:
    queued = await videos.add(player.user_id, VideoStatus.UPLOADED)
    working = await videos.add(player.user_id, VideoStatus.PROCESSING, progress=40)
    await videos.add(player.user_id, VideoStatus.PROCESSED, processed=b"mp4")
    await videos.add(player.user_id, VideoStatus.FAILED, failure_reason="broken")
    # Otherwise the notices of these inserts may still arrive once the stream is open, as live events.
    await notices_delivered(client, videos, db)
    async with listening(client, player.auth) as stream:
        assert stream.response.headers["content-type"].startswith("text/event-stream")
        assert stream.response.headers["cache-control"] == "no-store"
        snapshot = await snapshot_of(stream, 2)
    assert summary(snapshot) == sorted([(str(queued), "uploaded", 0), (str(working), "processing", 40)])
    for got in snapshot:
        assert got.item.event == "video"  # type: ignore[union-attr]
        assert set(got.data) == {"video_id", "status", "progress", "error", "processed_at"}
        assert got.data["error"] is None
        assert got.data["processed_at"] is None
    assert ids(stream) == sorted(set(ids(stream)))


async def test_each_change_is_sent_as_it_happens_with_increasing_ids(
    client: httpx.AsyncClient, player: Player, videos: Videos, db: asyncpg.Connection
) -> None:
    clip = await videos.add(player.user_id, VideoStatus.UPLOADED)
    other = await videos.add(player.user_id, VideoStatus.PROCESSING, progress=90)
    stored = reasons.encode(Reason(ProcessingFailure.TOO_MANY_FRAMES, {"max_frames": 9000}))
    async with listening(client, player.auth) as stream:
        seen = await stream.settled(2)
        await db.execute("UPDATE videos SET status = 'processing', progress = 0 WHERE id = $1", clip)
        seen = await stream.wait_for_video(clip, "processing", seen)
        await db.execute("UPDATE videos SET progress = 55 WHERE id = $1", clip)
        seen = await stream.wait_for_video(clip, "processing", seen + 1)
        assert stream.items[seen].data["progress"] == 55
        await db.execute(
            "UPDATE videos SET status = 'processed', progress = 100, processed_at = now(),"
            " processed_key = 'processed/' || id || '.mp4' WHERE id = $1",
            clip,
        )
        seen = await stream.wait_for_video(clip, "processed", seen + 1)
        done = stream.items[seen].data
        await db.execute(
            "UPDATE videos SET status = 'failed', failure_reason = $2 WHERE id = $1", other, stored
        )
        seen = await stream.wait_for_video(other, "failed", seen + 1)
        failed = stream.items[seen].data
    assert done["progress"] == 100
    assert done["processed_at"].endswith("Z")
    assert done["error"] is None
    assert failed["progress"] is None
    assert failed["error"] == wording.processing_failure(stored)
    detail = (await client.get(f"/api/videos/{other}", headers=player.auth)).json()
    assert failed["error"] == detail["error"]
    assert ids(stream) == sorted(set(ids(stream)))


async def test_a_reconnect_with_last_event_id_gets_only_what_it_missed(
    client: httpx.AsyncClient, player: Player, videos: Videos, db: asyncpg.Connection
) -> None:
    still = await videos.add(player.user_id, VideoStatus.UPLOADED)
    moving = await videos.add(player.user_id, VideoStatus.PROCESSING, progress=10)
    await notices_delivered(client, videos, db)
    async with listening(client, player.auth) as first:
        last = str((await snapshot_of(first, 2))[-1].item.id)  # type: ignore[union-attr]
    await db.execute("UPDATE videos SET progress = 70 WHERE id = $1", moving)
    await db.execute("UPDATE videos SET progress = 80 WHERE id = $1", moving)
    async with listening(client, player.auth, last_event_id=last) as resumed:
        missed = await snapshot_of(resumed, 2)
    # Only the moving video's two changes, not a snapshot of both videos. Each event carries the row as
    # the gateway read it on the notice, so on a busy machine the first may already read 80.
    assert [got.data["video_id"] for got in missed] == [str(moving), str(moving)]
    progress = [got.data["progress"] for got in missed]
    assert progress[-1] == 80, progress
    assert progress[0] in (70, 80), progress
    assert min(ids(resumed)) > int(last)
    # An id this process never sent (or no longer holds) cannot be resumed from: the snapshot again.
    for unknown in ("1", "not-a-number", str(int(last) + 10**9)):
        async with listening(client, player.auth, last_event_id=unknown) as fresh:
            again = await snapshot_of(fresh, 2)
        assert summary(again) == sorted([(str(still), "uploaded", 0), (str(moving), "processing", 80)])


async def test_a_silent_stream_gets_keepalive_comments(client: httpx.AsyncClient, player: Player) -> None:
    # This player has nothing unfinished: the stream opens with no event, then only comments.
    async with listening(client, player.auth) as stream:
        first = await stream.settled()
        await stream.settled(after=first + 1)
    assert stream.events() == []
    assert len(stream.comments("keepalive")) >= 2


async def test_a_player_hears_only_of_their_own_videos(
    client: httpx.AsyncClient, player: Player, videos: Videos, db: asyncpg.Connection
) -> None:
    stranger = await sign_up(client, "Iván", "Lozano", "Neiva")
    theirs = await videos.add(stranger.user_id, VideoStatus.PROCESSING, progress=5)
    mine = await videos.add(player.user_id, VideoStatus.PROCESSING, progress=5)
    async with listening(client, player.auth) as stream:
        seen = await stream.settled(1)
        await db.execute("UPDATE videos SET progress = 60 WHERE id = $1", theirs)
        # Notices come in commit order: once the later change of mine is here, theirs would have been.
        await db.execute("UPDATE videos SET progress = 61 WHERE id = $1", mine)
        heard = await stream.wait_for_video(mine, "processing", seen)
        assert stream.items[heard].data["progress"] == 61
    assert str(theirs) not in {got.data["video_id"] for got in stream.events()}


async def test_without_a_valid_token_or_session_the_answer_is_401(
    client: httpx.AsyncClient, events_gateway: Gateway, player: Player, videos: Videos, db: asyncpg.Connection
) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}):
        refused = await client.get("/api/videos/events", headers=headers)
        assert refused.status_code == 401
        assert refused.json()["detail"]
    # The web app's EventSource sends the session cookie instead of a header.
    waiting = await videos.add(player.user_id, VideoStatus.UPLOADED)
    await notices_delivered(client, videos, db)
    async with httpx.AsyncClient(base_url=events_gateway.url, timeout=30) as browser:
        browser.cookies.set(SESSION_COOKIE, player.token)
        async with listening(browser, {}) as stream:
            assert [got.data["video_id"] for got in await snapshot_of(stream, 1)] == [str(waiting)]


async def test_a_killed_listen_connection_resends_the_snapshot_within_5_s(
    client: httpx.AsyncClient, player: Player, videos: Videos, db: asyncpg.Connection
) -> None:
    waiting = await videos.add(player.user_id, VideoStatus.UPLOADED)
    await notices_delivered(client, videos, db)
    async with listening(client, player.auth) as stream:
        seen = await stream.settled(1)
        # Every gateway of the session LISTENs under this name; each recovers alike.
        killed_at = time.monotonic()
        killed = await db.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
            APPLICATION_NAME,
        )
        assert killed >= 1
        resent = await stream.wait_for_video(waiting, "uploaded", seen)
        recovery_s = stream.items[resent].at - killed_at
        print(f"snapshot resent {recovery_s:.2f} s after the LISTEN connection was killed")
        await db.execute("UPDATE videos SET status = 'processing', progress = 3 WHERE id = $1", waiting)
        await stream.wait_for_video(waiting, "processing", resent + 1)
    assert recovery_s <= RECOVERY_S


async def test_a_stopping_gateway_ends_its_streams_instead_of_waiting_on_them(
    gateway_env: dict[str, str], session_tmp: Path, player: Player
) -> None:
    # uvicorn waits for every open response before it exits; a stream never ends by itself, so
    # without the stop signal reaching the streams this gateway would not exit at all.
    with own_gateway(gateway_env, session_tmp / "events-stopping-gateway.log") as gateway:
        async with (
            httpx.AsyncClient(base_url=gateway.url, timeout=30) as own,
            listening(own, player.auth) as stream,
        ):
            gateway.process.terminate()
            async with asyncio.timeout(STOP_S):
                await stream.ended.wait()
            # uvicorn ends by raising the signal it caught again once it has shut down.
            assert await asyncio.to_thread(gateway.process.wait, STOP_S) == -signal.SIGTERM
