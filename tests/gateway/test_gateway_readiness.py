"""The gateway as systemd runs it (``Type=notify``): READY=1 on ``NOTIFY_SOCKET`` once the app has
started and the database answers, a STATUS naming the database while it does not; and uvicorn's own
lines (start-up, access) as JSON, the access line with the request id, status and latency."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from anb_devstack.moto import free_port
from anb_devstack.notifysocket import NotifySocket
from gateway.conftest import start_gateway, stop_gateway


def _json_lines(log: Path) -> list[dict[str, object]]:
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    # Every line the process wrote is ours: uvicorn's plain text would fail here.
    return [json.loads(line) for line in lines]


def test_ready_once_serving_and_uvicorns_lines_are_json(gateway_env: dict[str, str], tmp_path: Path) -> None:
    systemd = NotifySocket(tmp_path / "notify")
    log = tmp_path / "gateway.log"
    gateway = start_gateway({**gateway_env, **systemd.env}, log, access_log=True)
    try:
        received = systemd.wait_for("READY=1", 60)
        assert received[-2:] == ["READY=1", "STATUS=ready"]
        answer = httpx.get(f"{gateway.url}/api/live", headers={"X-Request-ID": "access-line-1"}, timeout=10)
        assert answer.status_code == 200
        deadline = time.monotonic() + 30
        while not (access := [e for e in _json_lines(log) if e.get("request_id") == "access-line-1"]):
            assert time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)
    finally:
        stop_gateway(gateway)
        systemd.close()
    (line,) = access
    assert line["logger"] == "uvicorn.access"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/live", 200)
    assert isinstance(line["latency_ms"], float)
    assert line["latency_ms"] >= 0
    assert any(
        e["logger"] == "uvicorn.error" and "Started server process" in str(e["msg"]) for e in _json_lines(log)
    )


def test_without_its_database_the_gateway_serves_but_is_not_ready(
    gateway_env: dict[str, str], tmp_path: Path
) -> None:
    systemd = NotifySocket(tmp_path / "notify")
    env = {
        **gateway_env,
        **systemd.env,
        "ANB_DB_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/anb",
    }
    gateway = start_gateway(env, tmp_path / "gateway.log", healthy=False)
    try:
        received = systemd.wait_until(lambda got: any(line.startswith("STATUS=") for line in got), 60)
        assert received[0].startswith("STATUS=not ready: database: "), received
        # It keeps serving what needs no database; the load balancer's check passes.
        assert httpx.get(f"{gateway.url}/api/live", timeout=10).status_code == 200
    finally:
        stop_gateway(gateway)
        systemd.close()
    assert "READY=1" not in systemd.received
