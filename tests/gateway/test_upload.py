"""The upload proxy: authenticated, streamed to ingest without buffering, identity attached, answer relayed.

Ingest here is the stand-in network peer (tests/gateway/stand_in_ingest.py); with the real ingest the
same path is covered end to end by the e2e tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from anb_common import identity
from anb_common.reasons import Reason, UploadRule
from anb_gateway import wording
from gateway.conftest import Gateway, Player, own_gateway
from gateway.stand_in_ingest import Serving, StandInIngest

BOUNDARY = "anb-test-boundary-7f3a"
VIDEO_ID = uuid.UUID("0b8e6a7e-3f0c-4d7c-9a35-5c1f0d7b2a11")
ACCEPTED = {
    "message": "Video subido correctamente. Procesamiento en curso.",
    "task_id": str(VIDEO_ID),
    "video_id": str(VIDEO_ID),
}


def form(payload: bytes, title: str = "Mi mejor jugada") -> bytes:
    return (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\n{title}\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="video_file"; filename="clip.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + payload
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )


def headers(player: Player | None, body: bytes | None = None) -> dict[str, str]:
    result = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    if body is not None:
        result["Content-Length"] = str(len(body))
    if player is not None:
        result.update(player.auth)
    return result


async def test_upload_streams_through_with_identity_and_relays_202(
    api: httpx.AsyncClient, owner: Player, ingest: StandInIngest, gateway_env: dict[str, str]
) -> None:
    ingest.accept(VIDEO_ID)
    body = form(bytes(range(256)) * 4000)  # ~1 MB
    first, rest = body[:65536], body[65536:]
    request_id = f"test-{uuid.uuid4().hex}"

    async def slow_client() -> AsyncIterator[bytes]:
        yield first
        # The rest is sent only once ingest has seen the first chunk: a gateway that buffered the
        # body would wait for the rest forever and this test would time out instead of passing.
        assert await asyncio.to_thread(ingest.first_chunk.wait, 120)
        yield rest

    response = await api.post(
        "/api/videos/upload",
        content=slow_client(),
        headers={**headers(owner, body), "X-Request-ID": request_id},
    )
    assert response.status_code == 202
    assert response.json() == ACCEPTED
    assert response.headers.get("connection") != "close"  # the body was read: the connection is reusable
    received = ingest.received[-1]
    assert received.size == len(body)
    assert received.chunks >= 2
    assert received.headers["content-type"] == f"multipart/form-data; boundary={BOUNDARY}"
    assert received.headers["content-length"] == str(len(body))
    assert received.headers["x-request-id"] == request_id
    token = received.headers[identity.HEADER.lower()]
    seen = identity.SeenNonces()
    secret = gateway_env["ANB_INTERNAL_SECRET"]
    bound = {"method": "POST", "path": "/internal/uploads"}
    assert identity.verify(token, secret, **bound, seen=seen) == owner.user_id
    assert "authorization" not in received.headers


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, Reason(UploadRule.NOT_A_VIDEO)),
        (400, Reason(UploadRule.DURATION, {"duration_s": 10.0, "min_s": 20.0})),
        (400, Reason(UploadRule.TOO_LARGE, {"limit_bytes": 100_000_000})),
        (408, Reason(UploadRule.TOO_SLOW, {"bytes_per_s": 20.0, "min_bytes_per_s": 16384})),
    ],
)
async def test_ingest_refusals_reach_the_player_in_the_gateways_words(
    api: httpx.AsyncClient, owner: Player, ingest: StandInIngest, status: int, reason: Reason
) -> None:
    body = form(b"not a video")
    ingest.refuse(status, reason)
    response = await api.post("/api/videos/upload", content=body, headers=headers(owner, body))
    assert response.status_code == status
    assert response.json() == {"status_code": status, "detail": wording.upload_refusal(reason)}
    assert response.headers["connection"] == "close"  # the upload route is marked as streamed


async def test_ingest_unavailable_is_503_with_retry_after(
    api: httpx.AsyncClient, owner: Player, ingest: StandInIngest
) -> None:
    ingest.refuse(503, Reason(UploadRule.UNAVAILABLE))
    body = form(b"x")
    response = await api.post("/api/videos/upload", content=body, headers=headers(owner, body))
    assert response.status_code == 503
    assert response.json() == {"status_code": 503, "detail": wording.UPLOADS_UNAVAILABLE}
    assert response.headers["retry-after"].isdigit()


@pytest.mark.parametrize("refused", [True, False])
async def test_unexpected_ingest_answers_become_502(
    api: httpx.AsyncClient, owner: Player, ingest: StandInIngest, refused: bool
) -> None:
    # A refused internal identity (the keys disagree) and a bug in ingest: neither is the player's doing.
    ingest.refuse(401, Reason(UploadRule.IDENTITY)) if refused else ingest.fail()
    body = form(b"x")
    response = await api.post("/api/videos/upload", content=body, headers=headers(owner, body))
    assert response.status_code == 502
    assert response.json() == {"status_code": 502, "detail": wording.UPLOADS_UNEXPECTED}


async def test_declared_size_over_the_limit_is_refused_before_the_body(
    gateway: Gateway, owner: Player, ingest: StandInIngest, gateway_env: dict[str, str]
) -> None:
    limit = int(gateway_env["ANB_UPLOAD_MAX_BYTES"]) + int(gateway_env["ANB_UPLOAD_FORM_OVERHEAD_BYTES"])
    before = len(ingest.received)
    host, port = gateway.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST /api/videos/upload HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {owner.token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {limit + 1}\r\n\r\n"
    )
    writer.write(head.encode())  # and not one byte of body
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 120)  # a guard against a hang only
    writer.close()
    assert status_line.split()[1] == b"400"
    assert len(ingest.received) == before


async def test_streamed_body_over_the_limit_is_400(
    api: httpx.AsyncClient, owner: Player, ingest: StandInIngest, gateway_env: dict[str, str]
) -> None:
    limit = int(gateway_env["ANB_UPLOAD_MAX_BYTES"]) + int(gateway_env["ANB_UPLOAD_FORM_OVERHEAD_BYTES"])
    ingest.accept(VIDEO_ID)

    async def chunked() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
        for _ in range(limit // 65536 + 2):
            yield b"\0" * 65536

    response = await api.post("/api/videos/upload", content=chunked(), headers=headers(owner))
    assert response.status_code == 400
    assert "límite" in response.json()["detail"]


@pytest.mark.parametrize(
    "content_type", ["application/json", "multipart/form-data", "text/plain; boundary=x", ""]
)
async def test_upload_must_be_multipart(
    api: httpx.AsyncClient, owner: Player, ingest: StandInIngest, content_type: str
) -> None:
    request_id = f"not-multipart-{uuid.uuid4().hex}"
    response = await api.post(
        "/api/videos/upload",
        content=b"{}",
        headers={**owner.auth, "Content-Type": content_type, "X-Request-ID": request_id},
    )
    assert response.status_code == 400
    assert "multipart/form-data" in response.json()["detail"]
    # By request id: an earlier test's cut-off upload may still be landing at the stand-in.
    assert all(received.headers.get("x-request-id") != request_id for received in ingest.received)


async def test_empty_upload_is_400(api: httpx.AsyncClient, owner: Player) -> None:
    response = await api.post("/api/videos/upload", content=b"", headers=headers(owner, b""))
    assert response.status_code == 400


async def test_upload_without_token_is_401_and_never_reaches_ingest(
    api: httpx.AsyncClient, ingest: StandInIngest
) -> None:
    before = len(ingest.received)
    body = form(b"x")
    response = await api.post("/api/videos/upload", content=body, headers=headers(None, body))
    assert response.status_code == 401
    assert len(ingest.received) == before


@pytest.fixture(scope="module")
def one_slot_gateway(gateway_env: dict[str, str], session_tmp: Path) -> Iterator[Gateway]:
    """A gateway that relays one upload at a time and waits 1 s for a free slot."""
    env = {**gateway_env, "ANB_HTTP_INGEST_MAX_UPLOADS": "1", "ANB_HTTP_INGEST_CONNECT_TIMEOUT_S": "1"}
    with own_gateway(env, session_tmp / "gateway-one-slot.log") as started:
        yield started


async def test_uploads_past_the_relay_limit_are_shed_with_503(
    one_slot_gateway: Gateway, owner: Player, ingest: StandInIngest
) -> None:
    ingest.accept(VIDEO_ID)
    body = form(b"x" * 200_000)
    release = asyncio.Event()

    async def held_open() -> AsyncIterator[bytes]:
        yield body[:1000]
        await release.wait()
        yield body[1000:]

    async with httpx.AsyncClient(base_url=one_slot_gateway.url, timeout=60) as client:
        first = asyncio.create_task(
            client.post("/api/videos/upload", content=held_open(), headers=headers(owner, body))
        )
        # The first upload holds the only slot once ingest sees its bytes.
        assert await asyncio.to_thread(ingest.first_chunk.wait, 60)
        second = await client.post("/api/videos/upload", content=body, headers=headers(owner, body))
        release.set()
        assert second.status_code == 503
        assert second.json() == {"status_code": 503, "detail": wording.UPLOADS_SATURATED}
        assert second.headers["retry-after"].isdigit()
        assert (await first).status_code == 202
    assert "uploads already in flight to ingest" in one_slot_gateway.log.read_text()


@pytest.fixture(scope="module")
def stuck_ingest() -> Iterator[StandInIngest]:
    stand_in = StandInIngest(stuck=True)
    with Serving(stand_in, stand_in.port):
        yield stand_in
        stand_in.stuck = False  # lets its handlers end before the server stops


@pytest.fixture(scope="module")
def gateway_to_stuck_ingest(
    gateway_env: dict[str, str], session_tmp: Path, stuck_ingest: StandInIngest
) -> Iterator[Gateway]:
    """Large uploads allowed (more than the sockets between the processes buffer), a 1 s write bound."""
    env = {
        **gateway_env,
        "ANB_INGEST_URL": stuck_ingest.url,
        "ANB_UPLOAD_MAX_BYTES": str(STUCK_BODY_BYTES),
        "ANB_HTTP_INGEST_WRITE_IDLE_S": "1",
    }
    with own_gateway(env, session_tmp / "gateway-stuck-ingest.log") as started:
        yield started


# Past what the kernel buffers between client, gateway and ingest on the loopback (a few MB each way).
STUCK_BODY_BYTES = 48_000_000


async def test_an_ingest_that_stops_reading_frees_the_upload_after_the_write_bound(
    gateway_to_stuck_ingest: Gateway, owner: Player
) -> None:
    host, port = gateway_to_stuck_ingest.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    body = form(b"\0" * (STUCK_BODY_BYTES - 1000))
    head = (
        f"POST /api/videos/upload HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {owner.token}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {len(body)}\r\n\r\n"
    )

    async def send() -> None:
        with contextlib.suppress(ConnectionError):
            writer.write(head.encode() + body)
            await writer.drain()

    sending = asyncio.create_task(send())
    try:
        # Without a bound on writes the gateway would wait on ingest forever (here: this guard's 120 s).
        status_line = await asyncio.wait_for(reader.readline(), 120)
    finally:
        sending.cancel()
        writer.close()
    assert status_line.split()[1] == b"504"
