"""Processes killed at the worst moment: the job still finishes, nothing is left behind."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from faultkit import FaultPlatform, new_player

from anb_devstack import invariants

_BOUNDARY = "faultboundary"


async def test_sigkill_transcoders_mid_job(fault_platform: FaultPlatform, accepted_clip: Path) -> None:
    player = await new_player(fault_platform.api)
    response = await player.upload(accepted_clip)
    assert response.status_code == 202, response.text
    video_id = response.json()["video_id"]
    assert await player.wait_for(video_id, {"processing", "processed"}) == "processing"

    workers = fault_platform.children("anb_transcoder")
    assert workers, "no transcoder process found"
    for worker in workers:
        worker.send_signal(signal.SIGKILL)

    # The launcher restarts the workers (as systemd would); the job reappears after its visibility
    # timeout and one of them finishes it.
    assert await player.wait_for(video_id, {"processed", "failed"}) == "processed"
    await fault_platform.assert_invariants()


_HEAD = (
    f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\nkilled\r\n'
    f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="video_file"; filename="clip.mp4"\r\n'
    "Content-Type: video/mp4\r\n\r\n"
).encode()
_TAIL = f"\r\n--{_BOUNDARY}--\r\n".encode()


async def _slow_body(clip: Path, sent: asyncio.Event, killed: asyncio.Event) -> AsyncIterator[bytes]:
    yield _HEAD
    with clip.open("rb") as handle:
        # Enough for ingest to have started its S3 multipart upload (parts are 8 MiB) ...
        for _ in range(20):
            yield handle.read(1024 * 1024)
        sent.set()
        # ... then trickle, as a slow client would, until ingest has been killed under it.
        while chunk := handle.read(64 * 1024):
            if not killed.is_set():
                await asyncio.sleep(0.2)
            yield chunk
    yield _TAIL


async def test_sigkill_ingest_mid_upload(fault_platform: FaultPlatform, accepted_clip: Path) -> None:
    player = await new_player(fault_platform.api)
    sent, killed = asyncio.Event(), asyncio.Event()
    size = len(_HEAD) + accepted_clip.stat().st_size + len(_TAIL)
    upload = asyncio.create_task(
        player.client.post(
            "/videos/upload",
            headers={
                **player.auth,
                "Content-Type": f"multipart/form-data; boundary={_BOUNDARY}",
                "Content-Length": str(size),
            },
            content=_slow_body(accepted_clip, sent, killed),
        )
    )
    try:
        await asyncio.wait_for(sent.wait(), timeout=60)
        await asyncio.sleep(1.0)
        ingests = fault_platform.children("anb_ingest.app")
        assert ingests, "no ingest process found"
        for process in ingests:
            process.send_signal(signal.SIGKILL)
        killed.set()
        try:
            response = await upload
            # The gateway answers for its dead upstream; never a 500 and never an acceptance.
            assert response.status_code in (502, 503), response.text
            assert response.json()["detail"]
        except httpx.HTTPError:
            pass  # the gateway may also drop the client's connection: equally honest
    finally:
        # Whatever failed above, the request task must not outlive the test unobserved.
        upload.cancel()
        with contextlib.suppress(BaseException):
            await upload

    await _wait_ingest_back(fault_platform)
    await fault_platform.assert_invariants()
    # And the restarted ingest takes uploads again.
    response = await player.upload(accepted_clip)
    assert response.status_code == 202, response.text
    assert await player.wait_for(response.json()["video_id"], {"processed", "failed"}) == "processed"
    await fault_platform.assert_invariants()


async def _wait_ingest_back(fault_platform: FaultPlatform, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=fault_platform.running.ingest_url) as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get("/internal/health")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise AssertionError("ingest did not come back after being killed")


_MIB = 1024 * 1024


async def test_sigkill_ingest_mid_resumable_patch(fault_platform: FaultPlatform, accepted_clip: Path) -> None:
    """tus: ingest dies mid-PATCH; the restarted one frees the dead writer's lease at once, HEAD tells
    the true offset (whole parts S3 has, never bytes that died with the process), and the same
    client resumes from there to a processed video whose original is the source, byte for byte."""
    player = await new_player(fault_platform.api)
    data = accepted_clip.read_bytes()
    tus = {"Tus-Resumable": "1.0.0", **player.auth}
    metadata = "title " + base64.b64encode(b"killed mid-PATCH").decode()
    created = await player.client.post(
        "/uploads/", headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": metadata}
    )
    assert created.status_code == 201, created.text
    location = created.headers["Location"]
    sent, killed = asyncio.Event(), asyncio.Event()

    async def body() -> AsyncIterator[bytes]:
        # A whole 8 MiB part and a little more, then a trickle until ingest is killed under it.
        for start in range(0, 9 * _MIB, _MIB):
            yield data[start : start + _MIB]
        sent.set()
        for start in range(9 * _MIB, len(data), 64 * 1024):
            if not killed.is_set():
                await asyncio.sleep(0.2)
            yield data[start : start + 64 * 1024]

    octets = {"Content-Type": "application/offset+octet-stream", "Upload-Offset": "0"}
    patch = asyncio.create_task(player.client.patch(location, headers={**tus, **octets}, content=body()))
    try:
        await asyncio.wait_for(sent.wait(), timeout=60)
        await asyncio.sleep(2.0)  # the part reaches S3 and the row's offset moves past it
        for process in fault_platform.children("anb_ingest.app"):
            process.send_signal(signal.SIGKILL)
        killed.set()
        with contextlib.suppress(httpx.HTTPError):
            answer = await patch
            assert answer.status_code in (502, 503), answer.text
    finally:
        patch.cancel()
        with contextlib.suppress(BaseException):
            await patch
    await _wait_ingest_back(fault_platform)
    # An upload in progress is no invariant violation: its part and multipart upload are its own.
    problems = await invariants.check(fault_platform.scope)
    assert problems == [], "\n".join(problems)
    head = await player.client.head(location, headers=tus)
    assert head.status_code == 200
    offset = int(head.headers["Upload-Offset"])
    assert offset == 8 * _MIB, offset
    # Not 423: the dead writer's lease went with the restart, not after it lapses.
    rest = await player.client.patch(
        location, headers={**tus, **octets, "Upload-Offset": str(offset)}, content=data[offset:]
    )
    assert rest.status_code == 204, rest.text
    assert rest.headers["ANB-Video-Status"] == "uploaded"
    video_id = location.rstrip("/").rsplit("/", 1)[-1]
    assert await player.wait_for(video_id, {"processed", "failed"}) == "processed"
    original = (await player.client.get(f"/videos/{video_id}", headers=player.auth)).json()["original_url"]
    stored = (await player.client.get(original)).content
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()
    await fault_platform.assert_invariants()
