"""Start the platform exactly as ``make run`` does (the launcher, as a child process) on free ports.

Used by the e2e tests, the soak and the benchmarks, so that each measures the real thing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from anb_common.settings import AwsSettings
from anb_devstack.moto import free_port

# After a second stop signal the launcher only kills its services and stops PostgreSQL and moto.
_HURRIED_STOP_S = 30.0


LAUNCHER = "anb_devstack.launcher"


class PlatformFailed(RuntimeError):
    """The launcher exited or did not become healthy; the message carries the end of its log."""


@dataclass(frozen=True)
class RunningPlatform:
    api: str
    """Base URL clients use, e.g. http://127.0.0.1:PORT/api."""
    ingest_url: str
    moto_url: str
    db_url: str
    devdata: Path
    log: Path
    process: subprocess.Popen[bytes]

    @property
    def temp_dir(self) -> Path:
        return self.devdata / "anb-temp"

    @property
    def spool_dir(self) -> Path:
        return self.devdata / "ingest-temp"

    @property
    def aws(self) -> AwsSettings:
        return AwsSettings(endpoint_url=self.moto_url)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-4000:] if log.exists() else ""


@contextmanager
def platform(
    devdata: Path,
    log: Path,
    workers: int = 1,
    extra_env: Mapping[str, str] | None = None,
    start_timeout_s: float = 240.0,
    ports: Mapping[str, int] | None = None,
    launcher_args: Sequence[str] = (),
    as_make_run: bool = False,
) -> Iterator[RunningPlatform]:
    """``ports`` may fix some of gateway/ingest/moto/postgres (the rest are free ports).

    ``as_make_run`` starts the launcher the way ``make run`` does, under ``uv run`` and in a session of
    its own, so that a test can press Ctrl-C as a terminal does: SIGINT to the whole process group.
    """
    chosen = {name: free_port() for name in ("gateway", "ingest", "moto", "postgres")} | dict(ports or {})
    launcher = [_uv(), "run", "--no-sync", "anb-dev"] if as_make_run else [sys.executable, "-m", LAUNCHER]
    argv = [
        *launcher, "--no-colour", "--devdata", str(devdata), "--workers", str(workers), *launcher_args,
        *(arg for name, port in chosen.items() for arg in (f"--{name}-port", str(port))),
    ]  # fmt: skip
    env = {**os.environ, **(extra_env or {})}
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=as_make_run
        )
    try:
        # Both HTTP services: a gateway that answers before ingest does refuses uploads with 503.
        for health in (f"{chosen['ingest']}/internal/health", f"{chosen['gateway']}/api/health"):
            _wait_healthy(f"http://127.0.0.1:{health}", process, log, start_timeout_s)
        yield RunningPlatform(
            api=f"http://127.0.0.1:{chosen['gateway']}/api",
            ingest_url=f"http://127.0.0.1:{chosen['ingest']}",
            moto_url=f"http://127.0.0.1:{chosen['moto']}",
            db_url=f"postgresql+asyncpg://postgres@127.0.0.1:{chosen['postgres']}/anb",
            devdata=devdata,
            log=log,
            process=process,
        )
    finally:
        _stop(process)


def _uv() -> str:
    """The uv that runs us (``uv run`` names itself in ``UV``), which ``make run`` also uses."""
    uv = os.environ.get("UV")
    if not uv:
        raise PlatformFailed("starting the launcher as make run does needs uv: run under `uv run`")
    return uv


def _stop(process: subprocess.Popen[bytes], patience_s: float = 90.0) -> None:
    """Stop the launcher the way a person at its terminal would: one signal stops the platform in
    order (a running job may finish first); a second, when that takes longer than ``patience_s``,
    kills the services but still stops PostgreSQL and moto. SIGKILL is the last resort only: it would
    leave them running."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=patience_s)
        return
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=_HURRIED_STOP_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PlatformFailed(f"platform exited with {process.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310 - a local URL we built
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise PlatformFailed(f"{url} not healthy within {timeout_s:.0f} s:\n{_tail(log)}")
