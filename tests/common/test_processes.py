"""Liveness from a pid: running, gone, a zombie not yet reaped, and names that carry a pid."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from anb_common.processes import alive, owner_pid


def test_this_process_is_alive() -> None:
    assert alive(os.getpid())


def test_an_exited_and_reaped_process_is_not() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not alive(child.pid)


def test_a_zombie_is_not_alive() -> None:
    """SIGKILLed but not yet reaped by its parent: kill(pid, 0) still succeeds."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert alive(child.pid)
        child.kill()
        # Wait for the kernel to turn it into a zombie without reaping it (no wait() yet).
        for _ in range(200):
            if not alive(child.pid):
                break
            time.sleep(0.01)
        assert os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        assert not alive(child.pid)
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("pid", [0, -1])
def test_no_pid_is_never_alive(pid: int) -> None:
    assert not alive(pid)


@pytest.mark.parametrize(
    ("name", "prefix", "expected"),
    [
        ("job-123-abc-1", "job-", 123),
        ("brand-77", "brand-", 77),
        ("upload-9-xyz", "upload-", 9),
        ("job-abc-1", "job-", None),
        ("other-123", "job-", None),
        ("job-", "job-", None),
    ],
)
def test_owner_pid(name: str, prefix: str, expected: int | None) -> None:
    assert owner_pid(name, prefix) == expected
