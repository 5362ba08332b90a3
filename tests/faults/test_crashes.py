"""Processes killed at the worst moment: the job still finishes, nothing is left behind."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
from faultkit import FaultPlatform, new_player

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
