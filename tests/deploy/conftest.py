"""Deploy tests: templates, units, scripts and the capacity planner.

Debian tools (shellcheck, systemd-analyze) are installed by `make test` (its `test-tools`
step) or, run by hand, on first use; a test skips only when apt itself cannot install them.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from .support import load_template


def _install(package: str) -> bool:
    apt = shutil.which("apt-get")
    if apt is None:
        return False
    for command in ([apt, "update", "-qq"], [apt, "install", "-y", "-qq", package]):
        if subprocess.run(command, capture_output=True, check=False, timeout=600).returncode != 0:
            return False
    return True


@pytest.fixture(scope="session")
def debian_tool() -> Callable[[str, str], str]:
    """Path of a command, installing its Debian package when missing."""

    def find(command: str, package: str) -> str:
        path = shutil.which(command)
        if path is None and _install(package):
            path = shutil.which(command)
        if path is None:
            pytest.skip(f"{command} is missing and apt-get could not install {package}")
        return path

    return find


@pytest.fixture(scope="session")
def platform_template() -> dict[str, Any]:
    return load_template("platform.yaml")


@pytest.fixture(scope="session")
def network_template() -> dict[str, Any]:
    return load_template("network.yaml")
