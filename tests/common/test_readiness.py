"""A readiness pass tells systemd through a real unix datagram socket (``NOTIFY_SOCKET``): STATUS
while a dependency is away, READY=1 once after the first pass, and the minute's Ready metric."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from anb_common.metrics import Metrics
from anb_common.notify import notify
from anb_common.readiness import NotReady, Readiness
from anb_devstack.notifysocket import NotifySocket


@pytest.fixture
def systemd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifySocket]:
    listener = NotifySocket(tmp_path / "notify")
    monkeypatch.setenv("NOTIFY_SOCKET", str(listener.path))
    yield listener
    listener.close()


async def test_status_while_not_ready_then_ready_once(systemd: NotifySocket) -> None:
    database_up = False

    async def database() -> None:
        if not database_up:
            raise ConnectionRefusedError("connection refused")

    metrics = Metrics()
    readiness = Readiness("gateway", {"database": database}, metrics)
    for _ in range(2):
        with pytest.raises(NotReady, match="database: ConnectionRefusedError"):
            await readiness.check()
    database_up = True
    await readiness.check()
    await readiness.check()
    received = systemd.wait_for("READY=1", 5)
    # One STATUS per change, READY=1 once, in the order they happened.
    assert received == [
        "STATUS=not ready: database: ConnectionRefusedError: connection refused",
        "READY=1",
        "STATUS=ready",
    ]
    (ready,) = metrics.take()
    assert ready["MetricName"] == "Ready"
    assert ready["Dimensions"] == [{"Name": "Service", "Value": "gateway"}]
    assert dict(zip(ready["Values"], ready["Counts"], strict=True)) == {0.0: 2.0, 1.0: 2.0}


async def test_a_check_that_hangs_is_not_ready(systemd: NotifySocket) -> None:
    async def hangs() -> None:
        await asyncio.sleep(60)

    readiness = Readiness("ingest", {"storage": hangs}, Metrics(), timeout_s=0.2)
    with pytest.raises(NotReady, match="storage: TimeoutError"):
        await readiness.check()
    assert not readiness.passed


def test_nothing_is_sent_without_a_service_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False


def test_an_abstract_socket_address(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"anb-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert notify("READY=1", "STATUS=ready") is True
        assert listener.recv(100) == b"READY=1\nSTATUS=ready"
