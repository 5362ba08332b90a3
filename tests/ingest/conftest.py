"""Ingest fixtures: settings against the session's moto and PostgreSQL, real clips, a signed identity."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ingest_support import (
    FAST_RELAY,
    INTERNAL_SECRET,
    CappedIngest,
    IngestProcess,
    identity_headers,
    ingest_settings,
)
from litestar import Litestar
from litestar.testing import AsyncTestClient
from memcg import memory_cgroup, unit_memory_max
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.aws import Aws
from anb_common.db.models import User, Video
from anb_common.settings import DatabaseSettings
from anb_devstack.clips import make_clip
from anb_devstack.moto import free_port
from anb_ingest.app import create_app

INGEST_UNIT = Path(__file__).parents[2] / "deploy" / "systemd" / "anb-ingest.service"

# Enough picture to pass the 1080p rule at a fraction of the bytes: one noisy frame per second,
# high CRF. Clips are inputs, not deliverables.
CLIP_DEFAULTS: dict[str, Any] = {"width": 1920, "height": 1080, "seconds": 21, "fps": 1}
_LOW_BITRATE = {"libx264": {"crf": "45"}, "libvpx-vp9": {"crf": "60", "b": "0"}}


@pytest.fixture(scope="session")
def clip_dir(session_tmp: Path) -> Path:
    path = session_tmp / "ingest-clips"
    path.mkdir(exist_ok=True)
    return path


ClipMaker = Callable[..., Path]


@pytest.fixture(scope="session")
def clip(clip_dir: Path) -> ClipMaker:
    """``clip("name.mp4", codec=..., seconds=...)``: made once per session, reused by name."""

    def make(name: str, **overrides: Any) -> Path:
        path = clip_dir / name
        if not path.exists():
            args = {**CLIP_DEFAULTS, **overrides}
            codec = args.setdefault("codec", "libx264")
            args.setdefault("options", _LOW_BITRATE.get(codec, {}))
            make_clip(path, **args)
        return path

    return make


@pytest.fixture
def temp_dir(tmp_path: Path) -> Path:
    return tmp_path / "ingest-temp"


@pytest.fixture
async def user_id(sessions: async_sessionmaker[AsyncSession]) -> uuid.UUID:
    new = uuid.uuid4()
    async with sessions.begin() as session:
        session.add(
            User(
                id=new,
                first_name="Ana",
                last_name="Bola",
                email=f"{new}@example.test",
                password_hash="x",
                city="Bogotá",
                country="Colombia",
            )
        )
    return new


@pytest.fixture
def headers(user_id: uuid.UUID) -> dict[str, str]:
    """The gateway's headers for one upload by ``user_id``."""
    return identity_headers(user_id)


@pytest.fixture
def make_app(db_settings: DatabaseSettings, aws: Aws, temp_dir: Path) -> Callable[..., Litestar]:
    def make(**kwargs: Any) -> Litestar:
        return create_app(ingest_settings(db_settings, aws.settings, temp_dir, **kwargs))

    return make


@pytest.fixture
async def client(make_app: Callable[..., Litestar]) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(make_app(), timeout=60) as test_client:
        yield test_client


@pytest.fixture
def leftovers(aws: Aws, sessions: async_sessionmaker[AsyncSession], temp_dir: Path) -> Callable[..., Any]:
    """``await leftovers(user_id)``: what a rejected upload of ``user_id`` left behind (all empty = none)."""

    async def check(owner: uuid.UUID, spool_dir: Path = temp_dir) -> dict[str, list[str]]:
        bucket = aws.settings.bucket
        async with aws.s3() as s3:
            uploads = await s3.list_multipart_uploads(Bucket=bucket)
            objects = await s3.list_objects_v2(Bucket=bucket, Prefix="uploads/")
        async with sessions() as session:
            rows = (await session.scalars(select(Video.id).where(Video.user_id == owner))).all()
            recorded = set((await session.scalars(select(Video.original_key))).all())
        return {
            "multipart_uploads": [u["Key"] for u in uploads.get("Uploads", [])],
            # Accepted uploads of earlier tests stay; an object without a row is a leftover.
            "orphan_objects": [
                o["Key"] for o in objects.get("Contents", []) if o["Key"] not in recorded | {"uploads/"}
            ],
            "rows": [str(r) for r in rows],
            "temp_files": [str(p) for p in spool_dir.rglob("*")] if spool_dir.exists() else [],
        }

    return check


def _spawn_ingest(
    service_env: dict[str, str],
    temp_dir: Path,
    log: Path,
    *,
    preexec_fn: Callable[[], None] | None = None,
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **service_env,
        "ANB_INTERNAL_SECRET": INTERNAL_SECRET,
        "ANB_INGEST_TEMP_DIR": str(temp_dir),
        **{f"ANB_INGEST_{name.upper()}": str(value) for name, value in FAST_RELAY.items()},
    }
    argv = [sys.executable, "-m", "uvicorn", "--factory", "--loop", "uvloop", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "anb_ingest.app:create_app"]
    with log.open("ab") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=preexec_fn)
    url = f"http://127.0.0.1:{port}"
    _wait_healthy(process, url + "/internal/health", log)
    return process, url


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def ingest_process(service_env: dict[str, str], session_tmp: Path) -> Iterator[IngestProcess]:
    """Ingest as it runs in production: a uvicorn process (uvloop), against the session's moto and DB."""
    temp_dir = session_tmp / f"ingest-process-{uuid.uuid4().hex[:6]}"
    log = temp_dir.with_suffix(".log")
    process, url = _spawn_ingest(service_env, temp_dir, log)
    try:
        yield IngestProcess(url, temp_dir, log, process.pid)
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def capped_ingest(service_env: dict[str, str], session_tmp: Path) -> Iterator[CappedIngest]:
    """Ingest as ``ingest_process``, under the memory limit its systemd unit sets (``MemoryMax=``),
    charged to a cgroup of its own with every process it starts."""
    with memory_cgroup(unit_memory_max(INGEST_UNIT)) as group:
        temp_dir = session_tmp / f"ingest-capped-{uuid.uuid4().hex[:6]}"
        log = temp_dir.with_suffix(".log")
        process, url = _spawn_ingest(service_env, temp_dir, log, preexec_fn=group.enter)
        try:
            yield CappedIngest(IngestProcess(url, temp_dir, log, process.pid), process, group)
        finally:
            _stop(process)


@pytest.fixture
def start_ingest(service_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[], IngestProcess]]:
    """Start ingest processes that share one spool folder (a restart after a crash, say)."""
    temp_dir = tmp_path / "ingest-spool"
    log = tmp_path / "ingest.log"
    started: list[subprocess.Popen[bytes]] = []

    def start() -> IngestProcess:
        process, url = _spawn_ingest(service_env, temp_dir, log)
        started.append(process)
        return IngestProcess(url, temp_dir, log, process.pid)

    yield start
    for process in started:
        _stop(process)


def _wait_healthy(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    # Start-up imports PyAV, SQLAlchemy and botocore: seconds on a busy 2-core machine, so be generous.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"ingest exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    process.kill()
    pytest.fail(f"ingest not healthy within 60 s:\n{log.read_text()[-3000:]}")
