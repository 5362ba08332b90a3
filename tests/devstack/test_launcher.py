"""The launcher (`make run`): it stops in dependency order on Ctrl-C, a second Ctrl-C cuts that short,
and its failures to start read as messages."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from anb_devstack import running
from anb_devstack.clips import make_clip
from anb_devstack.errors import StartError
from anb_devstack.moto import free_port
from anb_devstack.postgres import EmbeddedPostgres

PASSWORD = "canasta-2026"


@pytest.fixture
def workdir(session_tmp: Path) -> Path:
    """A folder for PostgreSQL's data outside pytest's temporary root, which another pytest run resets
    to 0700 (closing it to the server's user when we run as root)."""
    path = session_tmp / f"launcher-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 21 s of 1080p30: accepted by ingest, and several seconds of transcoding on two cores.
    path = tmp_path_factory.mktemp("launcher") / "clip.mp4"
    return make_clip(path, width=1920, height=1080, seconds=21, fps=30, options={"crf": "40"})


def _upload(api: str, clip: Path) -> tuple[httpx.Client, dict[str, str], str]:
    client = httpx.Client(base_url=api, timeout=httpx.Timeout(120.0, connect=5.0))
    email = f"launcher-{uuid.uuid4().hex[:12]}@example.com"
    player = {
        "first_name": "Ana",
        "last_name": "Pérez",
        "email": email,
        "city": "Cali",
        "country": "Colombia",
    }
    signup = client.post("/auth/signup", json={**player, "password1": PASSWORD, "password2": PASSWORD})
    assert signup.status_code == 201, signup.text
    login = client.post("/auth/login", json={"email": email, "password": PASSWORD})
    auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
    with clip.open("rb") as handle:
        upload = client.post(
            "/videos/upload",
            headers=auth,
            files={"video_file": (clip.name, handle, "video/mp4")},
            data={"title": "Ctrl-C"},
        )
    assert upload.status_code == 202, upload.text
    return client, auth, str(upload.json()["video_id"])


def _transcode_under_way(api: str, clip: Path) -> str:
    """Upload ``clip`` and return its video id once a transcoder is working on it."""
    client, auth, video_id = _upload(api, clip)
    try:
        deadline = time.monotonic() + 120
        while client.get(f"/videos/{video_id}", headers=auth).json()["status"] != "processing":
            assert time.monotonic() < deadline, "no transcoder took the job"
            time.sleep(0.2)
    finally:
        client.close()
    return video_id


def _services(process: subprocess.Popen[bytes]) -> list[psutil.Process]:
    return psutil.Process(process.pid).children(recursive=True)


def _still_running(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def _wait_for_line(log: Path, text: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in log.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"{text!r} never appeared in the launcher's log"
        time.sleep(0.1)


def _index(lines: list[str], text: str) -> int:
    found = [i for i, line in enumerate(lines) if text in line]
    assert found, f"{text!r} is not in the launcher's log"
    return found[0]


@pytest.mark.slow
def test_ctrl_c_during_a_transcode_stops_consumers_first_and_keeps_the_job(workdir: Path, clip: Path) -> None:
    log = workdir / "launcher.log"
    with running.platform(workdir / "devdata", log, as_make_run=True) as started:
        video_id = _transcode_under_way(started.api, clip)
        services = _services(started.process)
        interrupted = time.monotonic()
        # As a terminal does: SIGINT to the whole process group (uv forwards a second copy).
        os.killpg(started.process.pid, signal.SIGINT)
        assert started.process.wait(timeout=120) == 0
        took_s = time.monotonic() - interrupted

    output = log.read_text(errors="replace")
    lines = output.splitlines()
    assert "Traceback" not in output
    # A job was running when the stop came, and it finished (or was handed back) instead of being lost.
    assert any('"waiting for running jobs", "jobs": 1' in line for line in lines), output[-3000:]
    assert any(video_id in line and ('"job done"' in line or "handing it back" in line) for line in lines), (
        output[-3000:]
    )
    # Consumers first, then the gateway and ingest, then what they all use.
    order = [
        _index(lines, '"msg": "worker stopped"'),
        _index(lines, "transcoder-1 stopped after"),
        _index(lines, "gateway stopped after"),
        _index(lines, "ingest stopped after"),
        _index(lines, "stopping PostgreSQL and moto"),
        _index(lines, "launcher    | stopped in"),
    ]
    assert order == sorted(order), "\n".join(lines[order[0] - 5 :])
    # The transcoder's wait is the job's remaining time; everything after it takes seconds.
    found = re.search(r"transcoder-1 stopped after ([\d.]+) s", output)
    assert found is not None
    assert took_s <= float(found.group(1)) + 10, (took_s, found.group(0))
    assert _still_running(services) == []


@pytest.mark.slow
def test_a_second_ctrl_c_stops_at_once_and_still_stops_postgres_and_moto(workdir: Path, clip: Path) -> None:
    log = workdir / "launcher.log"
    # The slowest x264 preset keeps the job running for far longer than this test waits.
    with running.platform(
        workdir / "devdata", log, extra_env={"ANB_PROCESSING_PRESET": "veryslow"}, as_make_run=True
    ) as started:
        _transcode_under_way(started.api, clip)
        services = _services(started.process)
        os.killpg(started.process.pid, signal.SIGINT)
        _wait_for_line(log, "stopping transcoder-1")
        time.sleep(1)  # a person's second keypress, not the copy uv forwards of the first
        again = time.monotonic()
        os.killpg(started.process.pid, signal.SIGINT)
        assert started.process.wait(timeout=60) == 0
        took_s = time.monotonic() - again

    output = log.read_text(errors="replace")
    assert "Traceback" not in output
    assert "Ctrl-C again: killing transcoder-1" in output
    assert "stopping PostgreSQL and moto" in output
    assert took_s < 10, took_s
    assert _still_running(services) == []


def test_a_taken_port_names_the_process_that_holds_it(workdir: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        ports = {"gateway": free_port(), "ingest": free_port(), "moto": free_port(), "postgres": taken}
        argv = [sys.executable, "-m", "anb_devstack.launcher", "--no-colour", "--devdata", str(workdir)]
        argv += [arg for name, port in ports.items() for arg in (f"--{name}-port", str(port))]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60)

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert f"port {taken} (postgres) is taken by pid {os.getpid()} (" in output
    assert "make run PG_PORT=" in output
    assert "Traceback" not in output


def test_postgres_that_fails_to_start_is_quoted_from_its_log(workdir: Path) -> None:
    server = EmbeddedPostgres(workdir / "pg", free_port(), say=lambda line: None)
    server.init()
    with (server.datadir / "postgresql.conf").open("a") as conf:
        conf.write("no_such_setting = 1\n")
    with pytest.raises(StartError) as failure:
        server.start()
    assert str(server.log) in str(failure.value)
    assert 'unrecognized configuration parameter "no_such_setting"' in str(failure.value)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")
def test_each_folder_opened_for_the_server_user_is_named(workdir: Path) -> None:
    closed = workdir / "closed"
    closed.mkdir(mode=0o700)
    said: list[str] = []
    EmbeddedPostgres(closed / "pg", free_port(), say=said.append).init()
    assert closed.stat().st_mode & 0o777 == 0o701
    assert any(f"through {closed} (mode 700 -> 701)" in line for line in said), said
