"""Processes killed at the worst moment: the job still finishes, nothing is left behind."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import shutil
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from e2e.cli_runner import anb, log_in, sign_up
from e2e.cutting_proxy import cutting_proxy
from faultkit import FaultPlatform, new_player
from gateway.tus_support import MIB

from anb_cli import credentials
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


async def test_sigkill_ingest_mid_resumable_patch(
    fault_platform: FaultPlatform, accepted_clip: Path, tmp_path: Path
) -> None:
    """tus with ``anb upload``: ingest dies mid-PATCH (the link held by a proxy after a whole part and
    half the next); the restarted ingest frees the dead writer's lease at once, HEAD tells the true
    offset (the whole part S3 has, never bytes that died with the process), and the same command run
    again resumes from there to a processed video whose original is the source, byte for byte."""
    source = Path(shutil.copy(accepted_clip, tmp_path / "matado.mp4"))
    assert source.stat().st_size > 16 * MIB, "the first PATCH must end past the hold"
    config = tmp_path / "config"
    gateway = urlsplit(fault_platform.api)
    email = await asyncio.to_thread(sign_up, fault_platform.api, config, "Kim", "Matado")
    with cutting_proxy((gateway.hostname or "127.0.0.1", gateway.port or 80)) as proxy:
        api = f"http://127.0.0.1:{proxy.port}{gateway.path}"
        await asyncio.to_thread(log_in, api, config, email)
        proxy.hold(12 * MIB)
        upload = asyncio.create_task(
            asyncio.to_thread(anb, api, config, "upload", str(source), "--title", "Matado")
        )
        assert await asyncio.to_thread(proxy.held.wait, 60)
        location = _pending_upload(config)
        token = credentials.load(api, config / "anb" / "credentials.json")
        assert token is not None
        tus = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token.access_token}"}
        async with httpx.AsyncClient(timeout=30) as client:
            # The first part reaches S3 and the row's offset moves past it.
            assert await _offset_reaches(client, location, tus, 8 * MIB)
            for process in fault_platform.children("anb_ingest.app"):
                process.send_signal(signal.SIGKILL)
            proxy.release()
            first = await upload
            assert first.returncode == 1, first.stdout + first.stderr
            assert "Run the same command again to resume" in first.stderr
            await _wait_ingest_back(fault_platform)
            # An upload in progress is no invariant violation: its part and multipart upload are its own.
            problems = await invariants.check(fault_platform.scope)
            assert problems == [], "\n".join(problems)
            head = await client.head(location, headers=tus)
            assert head.status_code == 200
            assert int(head.headers["Upload-Offset"]) == 8 * MIB
        # Not 423: the dead writer's lease went with the restart, not after it lapses.
        again = await asyncio.to_thread(
            anb, api, config, "upload", str(source), "--title", "Matado", "--wait", timeout=300
        )
    assert again.returncode == 0, again.stdout + again.stderr
    note = re.search(r"Resuming matado\.mp4 at byte (\d+) of (\d+): (\d+) bytes sent before", again.stdout)
    assert note is not None, again.stdout
    assert (int(note.group(1)), int(note.group(2))) == (8 * MIB, source.stat().st_size)
    print(f"ingest killed mid-PATCH; resumed at {note.group(1)}; sent twice: {note.group(3)}")
    assert "processed" in again.stdout.splitlines()
    video_id = location.rstrip("/").rsplit("/", 1)[-1]
    async with httpx.AsyncClient(base_url=fault_platform.api, timeout=60) as client:
        shown = await client.get(f"/videos/{video_id}", headers=tus)
        stored = (await client.get(shown.json()["original_url"])).content
    assert hashlib.sha256(stored).digest() == hashlib.sha256(source.read_bytes()).digest()
    await fault_platform.assert_invariants()


def _pending_upload(config: Path) -> str:
    """The URL of the one upload ``anb`` has in progress (its resume store)."""
    saved = json.loads((config / "anb" / "uploads.json").read_text())["uploads"]
    (entry,) = saved.values()
    return str(entry["url"])


async def _offset_reaches(client: httpx.AsyncClient, url: str, headers: dict[str, str], offset: int) -> bool:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        answer = await client.head(url, headers=headers)
        if answer.status_code == 200 and int(answer.headers["Upload-Offset"]) >= offset:
            return True
        await asyncio.sleep(0.2)
    return False
