"""Each service installs alone from `make dist`'s output, the way an instance installs it (lib.sh's
install_venv: a fresh virtualenv, pip from the wheelhouse, --no-index --require-hashes), with no
workspace around it, and starts: gateway and ingest answer their health checks under uvicorn against
the session's moto and PostgreSQL, the transcoder imports every module, and each tells systemd it is
ready (READY=1 on NOTIFY_SOCKET, what its Type=notify unit and so its bootstrap wait for). A
dependency the workspace happens to provide but the service does not declare (issue 14's Pillow)
fails here."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from anb_common.aws import Aws
from anb_common.keys import RESOURCES_PREFIX
from anb_devstack.moto import free_port
from anb_devstack.notifysocket import NotifySocket

from .support import DEPLOY
from .test_dist import built_release

pytestmark = pytest.mark.slow

ASSETS = Path(__file__).resolve().parents[2] / "tools/devstack/src/anb_devstack/assets"


def _install(release: Path, service: str, venv: Path) -> None:
    result = subprocess.run(
        [
            "bash",
            "-c",
            'source "$1"; install_venv "$2" "$3" "$4"',
            "-",
            str(DEPLOY / "bootstrap/lib.sh"),
            str(release),
            service,
            str(venv),
        ],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV", "PYTHON"))},
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    release = built_release(tmp_path_factory)
    root = tmp_path_factory.mktemp("venvs")
    venvs = {service: root / service for service in ("gateway", "ingest", "transcoder")}
    # The installs share nothing but the read-only release, and pip is CPU-bound: side by side they
    # take the time of the slowest instead of the sum.
    with ThreadPoolExecutor(len(venvs)) as pool:
        list(pool.map(lambda service: _install(release, service, venvs[service]), venvs))
    return venvs


def _isolated_env(service_env: dict[str, str], **extra: str) -> dict[str, str]:
    """The session's service environment without anything that would reach the workspace."""
    env = {k: v for k, v in service_env.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "UV_"))}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    env["ANB_DEV_MODE"] = "false"
    return {**env, **extra}


def _python(venv: Path, code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin/python"), "-c", code], capture_output=True, text=True, env=env, cwd=cwd
    )


def test_the_transcoder_installs_alone_without_pillow(
    installed: dict[str, Path], service_env: dict[str, str], tmp_path: Path
) -> None:
    venv = installed["transcoder"]
    code = (
        "import importlib, importlib.util, pkgutil, anb_transcoder, anb_transcoder.__main__\n"
        "for module in pkgutil.iter_modules(anb_transcoder.__path__):\n"
        "    importlib.import_module('anb_transcoder.' + module.name)\n"
        "assert importlib.util.find_spec('PIL') is None, 'Pillow is installed'\n"
        "assert importlib.util.find_spec('litestar') is None, 'the worker never imports Litestar'\n"
        "print(anb_transcoder.__file__)\n"
    )
    result = _python(venv, code, _isolated_env(service_env), tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(str(venv)), result.stdout


async def test_the_transcoder_tells_systemd_it_is_ready(
    installed: dict[str, Path], service_env: dict[str, str], aws: Aws, tmp_path: Path
) -> None:
    async with aws.s3() as s3:
        for name in ("logo", "intro", "outro"):
            await s3.put_object(
                Bucket=aws.settings.bucket,
                Key=f"{RESOURCES_PREFIX}{name}.png",
                Body=(ASSETS / f"{name}.png").read_bytes(),
            )
    systemd = NotifySocket(tmp_path / "notify")
    env = _isolated_env(service_env, ANB_PROCESSING_TEMP_DIR=str(tmp_path / "work"), **systemd.env)
    log = (tmp_path / "transcoder.log").open("w")
    worker = subprocess.Popen(
        [str(installed["transcoder"] / "bin/anb-transcoder")], env=env, cwd=tmp_path, stdout=log, stderr=log
    )
    try:
        received = await asyncio.to_thread(_ready, systemd, tmp_path / "transcoder.log")
        assert "READY=1" in received
    finally:
        worker.send_signal(signal.SIGTERM)
        stopped = worker.wait(60)
        systemd.close()
    assert stopped == 0, (tmp_path / "transcoder.log").read_text()[-3000:]


def _ready(systemd: NotifySocket, log: Path) -> list[str]:
    try:
        return systemd.wait_for("READY=1", 120)
    except TimeoutError as exc:
        raise AssertionError(f"{exc}\n{log.read_text()[-3000:]}") from None


@pytest.fixture
def started(
    installed: dict[str, Path], service_env: dict[str, str], tmp_path: Path
) -> Iterator[dict[str, Any]]:
    """Ingest and the gateway under uvicorn from their own virtualenvs, as their units start them, each
    with a NOTIFY_SOCKET of its own."""
    ports = {"ingest": free_port(), "gateway": free_port()}
    sockets = {service: NotifySocket(tmp_path / f"{service}.notify") for service in ports}
    env = _isolated_env(
        service_env,
        ANB_INGEST_URL=f"http://127.0.0.1:{ports['ingest']}",
        ANB_INGEST_TEMP_DIR=str(tmp_path / "spool"),
    )
    processes = []
    try:
        for service in ("ingest", "gateway"):
            log = (tmp_path / f"{service}.log").open("w")
            processes.append(
                subprocess.Popen(
                    [
                        str(installed[service] / "bin/uvicorn"),
                        f"anb_{service}.app:create_app",
                        "--factory",
                        "--loop",
                        "uvloop",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(ports[service]),
                    ],
                    env={**env, **sockets[service].env},
                    cwd=tmp_path,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        yield {
            "gateway": f"http://127.0.0.1:{ports['gateway']}/api/health",
            "ingest": f"http://127.0.0.1:{ports['ingest']}/internal/health",
            "logs": str(tmp_path),
            "sockets": sockets,
        }
    finally:
        for socket in sockets.values():
            socket.close()
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_gateway_and_ingest_install_alone_and_answer_their_health_checks(started: dict[str, Any]) -> None:
    for service in ("ingest", "gateway"):
        deadline = time.monotonic() + 60
        status = None
        while time.monotonic() < deadline:
            try:
                status = httpx.get(started[service], timeout=5).status_code
            except httpx.HTTPError:
                status = None
            if status == 200:
                break
            time.sleep(0.3)
        log = (Path(started["logs"]) / f"{service}.log").read_text()
        assert status == 200, f"{service} did not answer 200:\n{log[-3000:]}"
        assert "READY=1" in _ready(started["sockets"][service], Path(started["logs"]) / f"{service}.log")
