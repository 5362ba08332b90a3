"""Probes run in child processes with a memory budget, a time limit and a bound on how many run at
once: what a hostile file makes FFmpeg do never reaches the process that serves requests, whose
memory stays under the unit's MemoryMax."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import psutil
import pytest
from ingest_support import CappedIngest, identity_headers, refused

from anb_common.media import probe
from anb_common.reasons import Reason, UploadRule
from anb_common.settings import UploadLimits
from anb_devstack.clips import make_frame_bomb, with_sps_size
from anb_ingest.errors import UploadRejected
from anb_ingest.prober import Prober
from anb_ingest.settings import IngestOptions

MB = 1024 * 1024


async def started(**options: object) -> Prober:
    prober = Prober(UploadLimits(), IngestOptions(**options))  # type: ignore[arg-type]
    await asyncio.to_thread(prober.start)
    return prober


def fork_server() -> psutil.Process:
    """The fork server this process started (probes are its children)."""
    for child in psutil.Process().children():
        if "multiprocessing.forkserver" in " ".join(child.cmdline()):
            return child
    raise LookupError("no fork server among this process's children")


async def test_a_probe_in_a_child_hands_back_what_probing_here_finds(clip: Callable[..., Path]) -> None:
    path = clip("h264.mp4", codec="libx264")
    prober = await started()
    assert await prober.probe(path) == probe(path, UploadLimits())


async def test_a_broken_rule_comes_back_with_its_values(clip: Callable[..., Path]) -> None:
    prober = await started()
    with pytest.raises(UploadRejected) as rejected:
        await prober.probe(clip("short.mp4", codec="libx264", seconds=5))
    assert rejected.value.reason == Reason("duration", {"duration_s": 5.0, "min_s": 20.0})


async def test_a_probe_that_needs_more_memory_than_its_budget_is_refused(clip: Callable[..., Path]) -> None:
    path = clip("h264.mp4", codec="libx264")
    # Control: the same file within the default budget.
    await (await started()).probe(path)
    prober = await started(probe_memory_bytes=16 * MB)
    with pytest.raises(UploadRejected) as rejected:
        # A 4K picture alone is 12 MB, and the decoder's own tables do not fit beside it.
        await prober.probe(clip("4k.mp4", codec="libx264", width=3840, height=2160))
    assert rejected.value.rule == UploadRule.UNDECODABLE
    assert fork_server().children() == []


async def test_a_probe_past_its_time_is_killed_and_refused(clip: Callable[..., Path]) -> None:
    prober = await started(probe_timeout_s=0.001)
    with pytest.raises(UploadRejected) as rejected:
        await prober.probe(clip("h264.mp4", codec="libx264"))
    assert rejected.value.rule == UploadRule.UNDECODABLE
    assert fork_server().children() == []


async def test_no_more_probes_run_at_once_than_the_setting_allows(clip: Callable[..., Path]) -> None:
    path = clip("h264.mp4", codec="libx264")
    prober = await started(probe_workers=2)
    server, most, stop = fork_server(), 0, threading.Event()

    def watch() -> None:
        nonlocal most
        while not stop.is_set():
            most = max(most, len(server.children()))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        await asyncio.gather(*(prober.probe(path) for _ in range(6)))
    finally:
        stop.set()
        watcher.join()
    # The bound is the rule. Whether the watcher saw two at once depends on how busy the machine is
    # (a probe lasts tens of milliseconds), so seeing one is not a failure.
    assert 1 <= most <= 2


# --- the real process, under the unit's MemoryMax --------------------------------------------------


@pytest.fixture
async def capped_client(capped_ingest: CappedIngest) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=capped_ingest.ingest.url, timeout=180) as client:
        yield client


Send = Callable[[bytes], "asyncio.Future[httpx.Response]"]


def sender(client: httpx.AsyncClient, user_id: uuid.UUID) -> Send:
    def send(content: bytes) -> asyncio.Future[httpx.Response]:
        return asyncio.ensure_future(
            client.post(
                "/internal/uploads",
                files={"video_file": ("clip.mp4", content, "application/octet-stream")},
                data={"title": "Hostil"},
                headers=identity_headers(user_id),
            )
        )

    return send


@pytest.mark.slow
async def test_an_sps_declaring_8192x8184_is_refused_and_costs_ingest_under_100_mb(
    capped_ingest: CappedIngest,
    capped_client: httpx.AsyncClient,
    clip: Callable[..., Path],
    user_id: uuid.UUID,
    aws: object,
) -> None:
    send = sender(capped_client, user_id)
    valid = clip("h264.mp4", codec="libx264").read_bytes()
    # First a valid upload: what is measured next is the hostile file's cost alone.
    assert (await send(valid)).status_code == 202
    group = capped_ingest.group
    group.reset_peak()
    before = group.usage()
    response = await send(with_sps_size(valid, 512, 512))
    growth = group.peak() - before
    assert refused(response) == ("resolution", {"width": 8192, "height": 8184, "max_long_side_px": 4096})
    print(f"peak growth of ingest's cgroup: {growth / MB:.1f} MB")
    assert growth < 100 * MB


@pytest.fixture(scope="module")
def index_bomb(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A 99 MB MP4 of 3.4 million pictures over 30 s: within the size limit, and FFmpeg builds an
    index of over 200 MB just to open it."""
    path = tmp_path_factory.mktemp("bombs") / "bomb.mp4"
    return make_frame_bomb(path, frames=3_400_000, seconds=30, width=1920, height=1080).read_bytes()


@pytest.mark.slow
async def test_four_hostile_probes_at_once_leave_ingest_alive_and_answering(
    capped_ingest: CappedIngest,
    capped_client: httpx.AsyncClient,
    clip: Callable[..., Path],
    user_id: uuid.UUID,
    index_bomb: bytes,
    aws: object,
) -> None:
    send = sender(capped_client, user_id)
    group = capped_ingest.group
    group.reset_peak()
    hostile = [send(index_bomb) for _ in range(4)]
    valid = send(clip("h264.mp4", codec="libx264").read_bytes())
    answers = await asyncio.gather(*hostile, valid, return_exceptions=True)
    print(f"peak of ingest's cgroup: {group.peak() / MB:.0f} MB of {group.limit() / MB:.0f} MB")
    assert group.oom_kills() == 0
    assert capped_ingest.process.poll() is None, "ingest died"
    for answer in answers[:4]:
        assert isinstance(answer, httpx.Response), answer
        assert refused(answer) == ("frame_rate", {"fps": pytest.approx(113_333, rel=0.01), "max_fps": 120})
    assert isinstance(answers[4], httpx.Response)
    assert answers[4].status_code == 202, answers[4].text
    assert (await capped_client.get("/internal/health")).status_code == 200
