"""Slow and greedy uploads against the real ingest: 100 bodies trickled by one player (a byte every
10 s) hold none of what another player's upload needs; each ends with 408 (too slow) or 429 (too
many at once), and nothing is left behind: no row, no object, no open multipart upload, no spool.

The gateway runs with short settings (a 1000 bytes/s pace with a 2 s allowance) so that this takes
seconds; ingest with its defaults, so that what it leaves behind is what it really leaves.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.aws import Aws
from anb_common.db.models import Video
from anb_devstack.clips import make_clip
from anb_gateway import wording
from gateway.conftest import Gateway, Player, sign_up
from gateway.real_ingest import gateway_over_real_ingest, queue_of_its_own
from gateway.test_upload import BOUNDARY, form, headers

TRICKLERS = 100
PER_PLAYER = 2
MIN_RATE = 1000


@dataclass(frozen=True)
class Stand:
    gateway: Gateway
    spool: Path


@pytest.fixture(scope="module")
async def own_queue(aws: Aws) -> str:
    return await queue_of_its_own(aws, "gateway-slow-uploads")


@pytest.fixture(scope="module")
def stand(gateway_env: dict[str, str], session_tmp: Path, own_queue: str) -> Iterator[Stand]:
    gateway_settings = {
        "ANB_HTTP_UPLOAD_MIN_RATE_BYTES_S": str(MIN_RATE),
        "ANB_HTTP_UPLOAD_STALL_S": "2",
        "ANB_HTTP_UPLOADS_PER_PLAYER": str(PER_PLAYER),
    }
    with gateway_over_real_ingest(
        gateway_env, own_queue, session_tmp, "slow-uploads", gateway_settings=gateway_settings
    ) as (gateway, _):
        yield Stand(gateway, session_tmp / "slow-uploads-spool")


@pytest.fixture(scope="module")
def clip(session_tmp: Path) -> bytes:
    # The smallest clip the rules accept: 20.5 s of 1080p at 2 frames/s.
    path = make_clip(session_tmp / "slow-uploads-clip.mp4", width=1920, height=1080, seconds=20.5, fps=2)
    return path.read_bytes()


async def trickle(gateway: Gateway, player: Player, clip: bytes) -> tuple[int, dict[str, object]]:
    """The form's start and the clip's first 4 KiB at once (ingest sniffs them, then opens its spool
    and its multipart upload), then a byte every 10 s until the gateway answers; status and body."""
    host, port = gateway.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    declared = 5_000_000
    head = (
        f"POST /api/videos/upload HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {player.token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {declared}\r\n\r\n"
    )
    start = form(b"")[: -len(f"\r\n--{BOUNDARY}--\r\n")] + clip[:4096]

    async def dribble() -> None:
        writer.write(head.encode() + start)
        while True:
            await writer.drain()
            await asyncio.sleep(10)
            writer.write(b"\0")

    sending = asyncio.create_task(dribble())
    try:
        status_line = await asyncio.wait_for(reader.readline(), 120)  # a guard against a hang only
        rest = await asyncio.wait_for(reader.read(), 120)
    finally:
        sending.cancel()
        writer.close()
    status = int(status_line.split()[1])
    body = rest.partition(b"\r\n\r\n")[2]
    return status, httpx.Response(status, content=body).json()


async def until(condition: Callable[[], Awaitable[bool]], what: str, poll_s: float = 0.2) -> None:
    """Wait for ``condition`` with a generous deadline: ingest undoes an abandoned upload in the
    background, within moments; only something that never comes should fail the test."""
    deadline = time.monotonic() + 120
    while not await condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(poll_s)


async def zero(count: Awaitable[int]) -> bool:
    return await count == 0


async def nonzero(count: Awaitable[int]) -> bool:
    return await count > 0


async def test_a_hundred_trickling_uploads_leave_room_and_nothing_behind(
    stand: Stand,
    api: httpx.AsyncClient,
    clip: bytes,
    aws: Aws,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    greedy = await sign_up(api, "Gil", "Lento", "Yopal")
    honest = await sign_up(api, "Ada", "Pronta", "Leticia")
    bucket = aws.settings.bucket

    async def uploads_in_bucket() -> set[str]:
        async with aws.s3() as s3:
            listed = await s3.list_objects_v2(Bucket=bucket, Prefix="uploads/")
        return {item["Key"] for item in listed.get("Contents", [])}

    async def open_multipart_uploads() -> int:
        async with aws.s3() as s3:
            return len((await s3.list_multipart_uploads(Bucket=bucket)).get("Uploads", []))

    async def spool_folders() -> int:
        return sum(1 for _ in stand.spool.iterdir()) if stand.spool.exists() else 0

    before = await uploads_in_bucket()
    tricklers = [asyncio.create_task(trickle(stand.gateway, greedy, clip)) for _ in range(TRICKLERS)]
    # What is left behind would be real: ingest has opened multipart uploads and spool folders for the
    # trickles that reached it.
    await until(lambda: nonzero(open_multipart_uploads()), "no trickle reached ingest", poll_s=0.02)
    assert await spool_folders() > 0

    async with httpx.AsyncClient(base_url=stand.gateway.url, timeout=120) as client:
        body = form(clip, title="Mientras otros gotean")
        accepted = await client.post("/api/videos/upload", content=body, headers=headers(honest, body))
    assert accepted.status_code == 202, accepted.text
    accepted_id = uuid.UUID(accepted.json()["video_id"])

    outcomes = await asyncio.gather(*tricklers)
    statuses = [status for status, _ in outcomes]
    assert set(statuses) <= {408, 429}, statuses
    assert 408 in statuses  # those that got a slot were cut for their pace...
    assert 429 in statuses  # ...the others refused for having too many at once
    for status, answer in outcomes:
        expected = wording.too_slow(MIN_RATE) if status == 408 else wording.too_many_uploads(PER_PLAYER)
        assert answer == {"status_code": status, "detail": expected}

    async def greedy_rows() -> int:
        async with sessions() as session:
            query = select(func.count()).select_from(Video).where(Video.user_id == greedy.user_id)
            return int((await session.execute(query)).scalar_one())

    async with sessions() as session:
        original_key = (await session.get(Video, accepted_id)).original_key  # type: ignore[union-attr]
    await until(lambda: zero(open_multipart_uploads()), "a multipart upload was left open")
    await until(lambda: zero(spool_folders()), f"spool folders were left: {list(stand.spool.iterdir())}")
    assert await greedy_rows() == 0
    assert await uploads_in_bucket() - before == {original_key}
