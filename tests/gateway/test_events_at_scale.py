"""``GET /api/videos/events`` against a real gateway process: what 300 idle streams cost it (PostgreSQL
connections, resident memory), and how soon a status change reaches connected clients (the contract's
1 s, as the p95 of 100 changes, commit to receipt on loopback)."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import psutil
import pytest

from anb_common.db.models import VideoStatus
from anb_devstack.postgres import EmbeddedPostgres
from anb_gateway.tokens import Tokens
from gateway.conftest import Gateway, Videos, own_gateway, sign_up
from gateway.event_streams import Reader, Received, listening

pytestmark = pytest.mark.slow

IDLE_STREAMS = 300
MAX_GROWTH_MB = 50.0
CHANGES = 100
CLIENTS = 3
MAX_P95_S = 1.0


@pytest.fixture(scope="module")
def events_gateway(gateway_env: dict[str, str], session_tmp: Path) -> Iterator[Gateway]:
    with own_gateway(gateway_env, session_tmp / "events-scale-gateway.log") as started:
        yield started


@pytest.fixture
async def db(postgres: EmbeddedPostgres) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(postgres.dsn)
    yield connection
    await connection.close()


async def players_with_a_queued_video(db: asyncpg.Connection, count: int) -> list[uuid.UUID]:
    """``count`` players (straight into the tables: a signup each would cost an Argon2 hash), each with
    one video waiting to be processed, so each stream's snapshot holds one event."""
    players = [uuid.uuid4() for _ in range(count)]
    await db.executemany(
        "INSERT INTO users (id, first_name, last_name, email, password_hash, city, country)"
        " VALUES ($1, 'Eco', 'Idle', $2, 'x', 'Yopal', 'Colombia')",
        [(player, f"eco-{player.hex}@example.com") for player in players],
    )
    await db.executemany(
        "INSERT INTO videos (id, user_id, title, status, original_key, container, codec, size_bytes,"
        " duration_s, width, height, checksum_sha256)"
        " VALUES ($1, $2, 'En cola', 'uploaded', $3, 'mp4', 'h264', 1, 30, 1920, 1080, repeat('0', 64))",
        [(video, player, f"uploads/{video}.mp4") for video, player in ((uuid.uuid4(), p) for p in players)],
    )
    return players


async def open_stream(url: str, token: str) -> asyncio.StreamWriter:
    """A bare HTTP/1.1 stream (300 of them cost the test next to nothing), read until its snapshot came."""
    address = urlsplit(url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(
        f"GET /api/videos/events HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: Bearer {token}\r\n"
        "Accept: text/event-stream\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 "), head
    body = b""
    while b"event: video" not in body:
        chunk = await reader.read(65536)
        assert chunk, body
        body += chunk
    return writer


async def database_sessions(db: asyncpg.Connection) -> int:
    return int(
        await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            " AND pid <> pg_backend_pid()"
        )
    )


async def test_300_idle_streams_add_no_database_connection_and_under_50_mb(
    events_gateway: Gateway, gateway_env: dict[str, str], db: asyncpg.Connection
) -> None:
    tokens = Tokens(gateway_env["ANB_JWT_SECRET"], 3600)
    warm, *players = await players_with_a_queued_video(db, IDLE_STREAMS + 1)
    # One stream first: the code runs once and the pool holds the connection its reads use.
    (await open_stream(events_gateway.url, tokens.issue(warm))).close()
    await asyncio.sleep(0.5)
    process = psutil.Process(events_gateway.process.pid)
    sessions_before, rss_before = await database_sessions(db), process.memory_info().rss
    streams = await asyncio.gather(*(open_stream(events_gateway.url, tokens.issue(p)) for p in players))
    try:
        sessions_after, rss_after = await database_sessions(db), process.memory_info().rss
    finally:
        for writer in streams:
            writer.close()
    growth_mb = (rss_after - rss_before) / 1e6
    print(
        f"{len(streams)} streams: database sessions {sessions_before} -> {sessions_after}, gateway RSS"
        f" {rss_before / 1e6:.1f} -> {rss_after / 1e6:.1f} MB (+{growth_mb:.1f} MB)"
    )
    assert sessions_after <= sessions_before
    assert growth_mb < MAX_GROWTH_MB


async def test_a_status_change_reaches_connected_clients_within_1_s_at_p95(
    events_gateway: Gateway, videos: Videos, db: asyncpg.Connection
) -> None:
    async with httpx.AsyncClient(base_url=events_gateway.url, timeout=30) as client:
        player = await sign_up(client, "Paz", "Rápida", "Tunja")
        video = await videos.add(player.user_id, VideoStatus.UPLOADED)
        readers: list[Reader] = []
        async with (
            listening(client, player.auth) as first,
            listening(client, player.auth) as second,
            listening(client, player.auth) as third,
        ):
            readers = [first, second, third]
            # Notices come in commit order: once this change is heard, the insert's notice was too.
            await db.execute("UPDATE videos SET status = 'processing', progress = 1 WHERE id = $1", video)
            seen = [await reader.wait_for_video(video, progress=1) + 1 for reader in readers]
            latencies = []
            for change in range(CHANGES):
                status = "uploaded" if change % 2 == 0 else "processing"
                # From before the UPDATE is sent (it commits on its own): the statement's time counts too.
                sent = time.monotonic()
                await db.execute("UPDATE videos SET status = $2, progress = 0 WHERE id = $1", video, status)
                arrived: list[Received] = []
                for index, reader in enumerate(readers):
                    seen[index] = await reader.wait_for_video(video, status, seen[index]) + 1
                    arrived.append(reader.items[seen[index] - 1])
                latencies.append(max(got.at for got in arrived) - sent)
    latencies.sort()
    p50, p95 = statistics.median(latencies), latencies[int(0.95 * len(latencies)) - 1]
    print(f"{CHANGES} status changes to {CLIENTS} clients: p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms")
    assert p95 <= MAX_P95_S
