from __future__ import annotations

import pytest

from loadtest.machine import role


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        (["python", "-m", "uvicorn", "--factory", "anb_gateway.app:create_app"], "gateway"),
        (["python", "-m", "uvicorn", "--port", "8001", "anb_ingest.app:create_app"], "ingest"),
        (["python", "-m", "anb_transcoder"], "transcoder"),
        (["python", "-m", "locust", "-f", "loadtest/locustfile.py"], "locust"),
        (["python", "-m", "moto.server", "-H", "127.0.0.1"], "moto"),
        (["postgres: postgres anb 127.0.0.1(5432) idle"], "postgres"),
        (["python", "-m", "anb_devstack.launcher", "--moto-port", "1", "--postgres-port", "2"], "launcher"),
        (["python", "-m", "loadtest.web"], "runner"),
        ([], "runner"),
    ],
)
def test_processes_are_grouped_by_role_from_their_command_line(cmdline: list[str], expected: str) -> None:
    assert role(cmdline) == expected
