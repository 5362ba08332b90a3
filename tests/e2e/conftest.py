"""The platform started exactly as ``make run`` starts it (the ``anb-dev`` launcher), on free ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from anb_devstack.moto import free_port


@dataclass(frozen=True)
class RunningPlatform:
    api: str
    """Base URL clients use, e.g. http://127.0.0.1:PORT/api."""
    ingest_url: str
    moto_url: str
    db_url: str
    devdata: Path
    log: Path


@pytest.fixture(scope="session")
def platform(session_tmp: Path) -> Iterator[RunningPlatform]:
    ports = {name: free_port() for name in ("gateway", "ingest", "moto", "postgres")}
    devdata = session_tmp / "platform"
    log = session_tmp / "platform.log"
    argv = [
        sys.executable,
        "-m",
        "anb_devstack.launcher",
        "--no-colour",
        "--devdata",
        str(devdata),
        "--workers",
        "2",
        *(arg for name, port in ports.items() for arg in (f"--{name}-port", str(port))),
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ))
    health = f"http://127.0.0.1:{ports['gateway']}/api/health"
    deadline = time.monotonic() + 120
    while True:
        if process.poll() is not None:
            pytest.fail(f"platform exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(health, timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"platform not healthy in 120 s:\n{log.read_text()[-4000:]}")
        time.sleep(0.3)
    yield RunningPlatform(
        api=f"http://127.0.0.1:{ports['gateway']}/api",
        ingest_url=f"http://127.0.0.1:{ports['ingest']}",
        moto_url=f"http://127.0.0.1:{ports['moto']}",
        db_url=f"postgresql+asyncpg://postgres@127.0.0.1:{ports['postgres']}/anb",
        devdata=devdata,
        log=log,
    )
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
