"""The client address the gateway sees, through the very uvicorn flags that deploy and `make run` use.

Behind the ALB a client may write any X-Forwarded-For it likes; the ALB appends the address it saw.
uvicorn must trust forwarded headers only from the load balancer's subnets (ANB_TRUSTED_PROXIES,
expanded by systemd into ExecStart) and take the right-most address it does not trust. Locally
nothing is trusted. Each case starts uvicorn with the unit's (or the launcher's) own flags around a
tiny app that echoes the address uvicorn hands it, and sends forged headers from chosen loopback
addresses: 127.0.0.1 plays the load balancer, 127.0.0.2 a client that reaches the port directly.
"""

from __future__ import annotations

import configparser
import http.client
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from anb_devstack.launcher import GATEWAY_PROXY_FLAGS
from anb_devstack.moto import free_port

from .support import DEPLOY

ECHO_APP = """
async def _echo(scope, receive, send):
    if scope["type"] != "http":
        return
    body = (scope["client"] or ("none", 0))[0].encode()
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app():
    return _echo
"""

GATEWAY_APP = "anb_gateway.app:create_app"
LOAD_BALANCER = "127.0.0.1"
DIRECT_CLIENT = "127.0.0.2"


def unit_arguments(environment: dict[str, str]) -> list[str]:
    """The gateway unit's uvicorn arguments, with ${VAR} expanded from ``environment`` as systemd
    does for ExecStart (an unset variable becomes empty)."""
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "systemd" / "anb-gateway.service").read_text())
    command = re.sub(
        r"\$\{(\w+)\}", lambda m: environment.get(m.group(1), ""), parser["Service"]["ExecStart"]
    )
    executable, *arguments = shlex.split(command)
    assert executable.endswith("/bin/uvicorn")
    return arguments


def _replace_value(arguments: list[str], flag: str, value: str) -> list[str]:
    index = arguments.index(flag)
    return [*arguments[: index + 1], value, *arguments[index + 2 :]]


class Echo:
    def __init__(self, arguments: Sequence[str], app_dir: Path) -> None:
        self.port = free_port()
        arguments = [a if a != GATEWAY_APP else "echo_client:create_app" for a in arguments]
        if "--host" in arguments:
            arguments = _replace_value(
                _replace_value(arguments, "--host", "127.0.0.1"), "--port", str(self.port)
            )
        else:
            arguments = [*arguments, "--host", "127.0.0.1", "--port", str(self.port)]
        if "echo_client:create_app" not in arguments:
            arguments = [*arguments, "--factory", "echo_client:create_app"]
        command = [sys.executable, "-m", "uvicorn", "--app-dir", str(app_dir), *arguments]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"uvicorn exited: {self.process.stderr.read().decode() if self.process.stderr else ''}"
                )
            try:
                self.client_seen(LOAD_BALANCER, None)
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("uvicorn did not start")

    def client_seen(self, source: str, forwarded_for: str | None) -> str:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=10, source_address=(source, 0)
        )
        try:
            headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
            connection.request("GET", "/", headers=headers)
            return connection.getresponse().read().decode()
        finally:
            connection.close()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    (tmp_path / "echo_client.py").write_text(ECHO_APP)
    return tmp_path


def _serve(arguments: Sequence[str], app_dir: Path) -> Iterator[Echo]:
    echo = Echo(arguments, app_dir)
    try:
        echo.wait_ready()
        yield echo
    finally:
        echo.stop()


@pytest.fixture
def deployed(app_dir: Path) -> Iterator[Echo]:
    # The load balancer's subnets, as the bootstrap writes them into gateway.env (here: loopback's .1).
    yield from _serve(unit_arguments({"ANB_TRUSTED_PROXIES": f"{LOAD_BALANCER}/32"}), app_dir)


def test_behind_the_load_balancer_a_forged_entry_is_not_the_client(deployed: Echo) -> None:
    # The client wrote 6.6.6.6; the load balancer appended the address it really saw.
    assert deployed.client_seen(LOAD_BALANCER, "6.6.6.6, 203.0.113.7") == "203.0.113.7"
    # Headers repeated are one list; the right-most untrusted entry still wins.
    assert deployed.client_seen(LOAD_BALANCER, "6.6.6.6, 203.0.113.7, 127.0.0.1") == "203.0.113.7"
    assert deployed.client_seen(LOAD_BALANCER, None) == LOAD_BALANCER


def test_a_peer_outside_the_load_balancer_subnets_is_not_believed(deployed: Echo) -> None:
    assert deployed.client_seen(DIRECT_CLIENT, "6.6.6.6") == DIRECT_CLIENT


def test_without_trusted_proxies_the_unit_believes_no_header(app_dir: Path) -> None:
    # A gateway.env without ANB_TRUSTED_PROXIES must fail closed, never fall back to trusting everyone.
    for echo in _serve(unit_arguments({}), app_dir):
        assert echo.client_seen(LOAD_BALANCER, "6.6.6.6") == LOAD_BALANCER


def test_make_run_trusts_no_forwarded_header(app_dir: Path) -> None:
    for echo in _serve(list(GATEWAY_PROXY_FLAGS), app_dir):
        assert echo.client_seen(LOAD_BALANCER, "6.6.6.6") == LOAD_BALANCER
