"""Fixtures of the hostile-input and security modules (imported explicitly by them).

One platform serves all of those modules: it is started by the first that asks and stopped when the
session ends, so the secrets-in-logs check at the end reads the log of every hostile request made.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import av
import httpx
import pytest
from hostile import Player, new_player, service_pids

from anb_devstack import running
from anb_devstack.clips import make_clip
from anb_devstack.running import RunningPlatform

# Many players sign up and log in here; the per-address limit is the gateway tests' business.
# The suite's players log in from one address, many times: no throttle should answer for the faults.
HOSTILE_ENV = {"ANB_AUTH_RATE_LIMIT_PER_MINUTE": "100000", "ANB_AUTH_ACCOUNT_FAILURES": "100000"}
_STARTED = pytest.StashKey[tuple[RunningPlatform, dict[str, int]]]()
_FAILED = pytest.StashKey[str]()


@pytest.fixture(name="hostile_platform", scope="session")
def fixture_hostile_platform(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> RunningPlatform:
    return _started(request, tmp_path_factory)[0]


@pytest.fixture(name="initial_pids", scope="session")
def fixture_initial_pids(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, int]:
    """The service processes as they were when the platform became healthy."""
    return _started(request, tmp_path_factory)[1]


def _started(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[RunningPlatform, dict[str, int]]:
    # Each module that imports these fixtures gets its own copy of them; the stash makes one platform.
    stash = request.config.stash
    if _FAILED in stash:
        pytest.fail(stash[_FAILED])
    if _STARTED not in stash:
        stack = ExitStack()
        request.config.add_cleanup(stack.close)
        try:
            started = stack.enter_context(_platform(tmp_path_factory.getbasetemp()))
        except running.PlatformFailed as exc:
            stash[_FAILED] = str(exc)
            pytest.fail(str(exc))
        stash[_STARTED] = (started, service_pids(started.process.pid))
    return stash[_STARTED]


@contextmanager
def _platform(logs: Path) -> Iterator[RunningPlatform]:
    """The platform; its logs go to ``logs`` (kept after the run, for a failure's post-mortem)."""
    # Not under pytest's basetemp: a pytest session starting meanwhile (other suites run alongside)
    # resets /tmp/pytest-of-<user> to 0700, and PostgreSQL, which runs as its own user, loses its way in.
    workdir = Path(tempfile.mkdtemp(prefix="anb-hostile-"))
    try:
        # The launcher gives its services 60 s to become healthy; on a 2-core machine busy with other
        # suites that is sometimes not enough, and a second start then usually is.
        for attempt in (1, 2):
            try:
                with running.platform(
                    workdir / f"devdata-{attempt}",
                    logs / f"hostile-platform-{attempt}.log",
                    workers=2,
                    extra_env=HOSTILE_ENV,
                ) as started:
                    _wait_for_ingest(started.ingest_url)
                    yield started
                    return
            except running.PlatformFailed:
                if attempt == 2:
                    raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _wait_for_ingest(url: str, timeout_s: float = 60.0) -> None:
    # The launcher waits for the gateway's health only; uploads also need ingest to be serving.
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/internal/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise running.PlatformFailed(f"ingest at {url} not healthy within {timeout_s:.0f} s")


@pytest.fixture(name="api", scope="session")
def fixture_api(hostile_platform: RunningPlatform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hostile_platform.api, timeout=120) as client:
        yield client


@pytest.fixture(name="player", scope="session")
def fixture_player(api: httpx.Client) -> Player:
    return new_player(api)


@dataclass(frozen=True)
class Clips:
    mp4: Path
    """1080p, 21 s at 1 fps, crf 51: a quarter megabyte that the rules accept and a worker
    transcodes in about a second; moov after mdat (PyAV's default layout)."""
    faststart_mp4: Path
    """The same stream with the moov first, so that cutting the mdat leaves the index intact."""
    webm: Path
    """1080p, 21 s at 1 fps, VP9 in WebM."""


@pytest.fixture(name="clips", scope="session")
def fixture_clips(tmp_path_factory: pytest.TempPathFactory) -> Clips:
    folder = tmp_path_factory.getbasetemp() / "hostile-clips"
    made = Clips(folder / "base.mp4", folder / "faststart.mp4", folder / "base.webm")
    if not made.webm.exists():
        folder.mkdir(exist_ok=True)
        make_clip(made.mp4, seconds=21, fps=1, options={"crf": "51"})
        _remux_faststart(made.mp4, made.faststart_mp4)
        make_clip(made.webm, seconds=21, fps=1, codec="libvpx-vp9", options={"crf": "63", "b": "0"})
    return made


def _remux_faststart(source: Path, target: Path) -> None:
    with (
        av.open(str(source)) as inp,
        av.open(str(target), "w", format="mp4", container_options={"movflags": "+faststart"}) as out,
    ):
        stream = out.add_stream_from_template(inp.streams.video[0])
        for packet in inp.demux(inp.streams.video[0]):
            if packet.dts is None:  # the demuxer's end-of-stream marker
                continue
            packet.stream = stream
            out.mux(packet)
