"""A platform per fault module, started as ``make run`` starts it, with its S3/SQS traffic routed
through an outage proxy and short queue timings so that recoveries happen within a test's time."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultkit import FAULT_ENV, FaultPlatform

from anb_devstack import running
from anb_devstack.clips import make_clip
from anb_devstack.faultproxy import FaultProxy
from anb_devstack.moto import free_port


@pytest.fixture(scope="module")
def fault_platform(session_tmp: Path) -> Iterator[FaultPlatform]:
    # Not pytest's tmp_path: a concurrent pytest run may reset its root to 0700, which locks out
    # PostgreSQL's own user; session_tmp is ours alone.
    workdir = Path(tempfile.mkdtemp(prefix="fault-platform-", dir=session_tmp))
    moto_port = free_port()
    proxy = FaultProxy(free_port(), moto_port)
    proxy.start()
    try:
        with running.platform(
            workdir / "devdata",
            workdir / "platform.log",
            workers=2,
            extra_env=FAULT_ENV,
            ports={"moto": moto_port},
            launcher_args=["--services-aws-endpoint", proxy.url],
        ) as started:
            yield FaultPlatform(started, proxy)
    except running.PlatformFailed as exc:
        pytest.fail(str(exc))
    finally:
        proxy.cut()


@pytest.fixture(scope="session")
def accepted_clip(session_tmp: Path) -> Path:
    """The smallest clip the rules accept (20 s, 1080p) at a frame rate that transcodes in seconds."""
    path = session_tmp / "accepted-clip.mp4"
    if not path.exists():
        make_clip(path, width=1920, height=1080, seconds=20.5, fps=4)
    return path
