"""Storage and queue (moto) cut off for 10 s, and PostgreSQL restarted, while the platform works."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psutil
from faultkit import FaultPlatform, Player, new_player

from anb_devstack.postgres import EmbeddedPostgres


async def _upload_and_report(player: Player, clip: Path) -> tuple[int, str | None]:
    try:
        response = await player.upload(clip)
    except httpx.HTTPError:
        return 0, None
    video_id = response.json().get("video_id") if response.status_code == 202 else None
    return response.status_code, video_id


async def test_s3_and_sqs_cut_off_for_ten_seconds(fault_platform: FaultPlatform, accepted_clip: Path) -> None:
    player = await new_player(fault_platform.api)
    first = await player.upload(accepted_clip)
    assert first.status_code == 202, first.text
    processing = first.json()["video_id"]
    assert await player.wait_for(processing, {"processing", "processed"}) in ("processing", "processed")

    uploads = [asyncio.create_task(_upload_and_report(player, accepted_clip)) for _ in range(2)]
    await asyncio.sleep(0.5)
    fault_platform.proxy.cut()
    await asyncio.sleep(10)
    fault_platform.proxy.restore()
    results = await asyncio.gather(*uploads)

    # During the outage an upload is either accepted (and then kept) or refused with a clear
    # "try again" answer; never a 500.
    for status, _ in results:
        assert status in (202, 503, 0), results
    accepted = [processing] + [video_id for status, video_id in results if status == 202 and video_id]
    for video_id in accepted:
        assert await player.wait_for(video_id, {"processed", "failed"}, timeout_s=240) == "processed"

    after = await player.upload(accepted_clip)
    assert after.status_code == 202, after.text
    assert await player.wait_for(after.json()["video_id"], {"processed", "failed"}) == "processed"
    await fault_platform.assert_invariants()


async def _hammer(player: Player, stop: asyncio.Event, statuses: list[int]) -> None:
    while not stop.is_set():
        for path in ("/videos", "/public/rankings", "/public/videos"):
            try:
                response = await player.client.get(path, headers=player.auth)
                statuses.append(response.status_code)
            except httpx.HTTPError:
                statuses.append(0)
        await asyncio.sleep(0.05)


async def test_postgres_restarted_under_load(fault_platform: FaultPlatform, accepted_clip: Path) -> None:
    player = await new_player(fault_platform.api)
    response = await player.upload(accepted_clip)
    assert response.status_code == 202, response.text
    video_id = response.json()["video_id"]

    stop = asyncio.Event()
    statuses: list[int] = []
    load = asyncio.create_task(_hammer(player, stop, statuses))
    await asyncio.sleep(1)

    postmasters = [process for process in fault_platform.children("postgres") if "-D" in process.cmdline()]
    assert len(postmasters) == 1, postmasters
    postmaster = postmasters[0]
    port = urlsplit(fault_platform.running.db_url).port
    assert port is not None
    postmaster.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown, as a restart does
    # Not our child: once it exits it stays a zombie until the launcher reaps it, so wait for either.
    deadline = time.monotonic() + 60
    while postmaster.is_running() and postmaster.status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "PostgreSQL did not shut down"
        await asyncio.sleep(0.2)
    await asyncio.sleep(2)
    restarted = EmbeddedPostgres(fault_platform.running.devdata / "pg", port)
    restarted.start()
    try:
        down_at = len(statuses)
        # Within a bounded time after the restart the API answers normally again.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and statuses[-3:] != [200, 200, 200]:
            await asyncio.sleep(0.5)
        stop.set()
        await load
        assert statuses[-3:] == [200, 200, 200], statuses[down_at:][-20:]
        # While the database was away: a clear "unavailable", never a 500.
        assert 500 not in statuses, sorted(set(statuses))
        assert await player.wait_for(video_id, {"processed", "failed"}, timeout_s=240) == "processed"
        await fault_platform.assert_invariants()
    finally:
        stop.set()
        restarted.stop()
