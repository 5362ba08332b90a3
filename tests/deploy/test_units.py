"""systemd units: `systemd-analyze verify` clean, hardened, configured from /etc/anb/<service>.env."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from .support import UNITS

HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "PrivateTmp": "yes",
    "ProtectHome": "yes",
    "CapabilityBoundingSet": "",
}


def _service_section(unit: Path) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(unit.read_text())
    return parser["Service"]


def test_verify_passes_on_every_unit(debian_tool: Callable[[str, str], str], tmp_path: Path) -> None:
    analyze = debian_tool("systemd-analyze", "systemd")
    # verify checks that ExecStart exists, so the units are checked inside a root that has the paths the
    # bootstrap creates (/opt/anb/<service>/bin/...) plus the distribution's own units.
    shutil.copytree("/usr/lib/systemd/system", tmp_path / "usr/lib/systemd/system", symlinks=True)
    units_dir = tmp_path / "etc/systemd/system"
    units_dir.mkdir(parents=True)
    for unit in UNITS:
        shutil.copy(unit, units_dir / unit.name)
        executable = tmp_path / _service_section(unit)["ExecStart"].split()[0].lstrip("/")
        executable.parent.mkdir(parents=True, exist_ok=True)
        executable.write_text("#!/bin/sh\n")
        executable.chmod(0o755)
    result = subprocess.run(
        [analyze, "verify", f"--root={tmp_path}", *(unit.name for unit in UNITS)],
        capture_output=True,
        text=True,
        check=False,
    )
    # verify exits 0 on unknown keys and bad values, only warning about them: any output is a failure.
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_unit_is_hardened_and_unprivileged(unit: Path) -> None:
    service = _service_section(unit)
    name = unit.stem.removeprefix("anb-")
    assert service["User"] == f"anb-{name}"
    assert service["Restart"] == "on-failure"
    assert service["EnvironmentFile"] == f"/etc/anb/{name}.env"
    assert service["ExecStart"].startswith(f"/opt/anb/{name}/bin/")
    for key, value in HARDENING.items():
        assert service[key] == value, key
    assert service["MemoryMax"]
    # ProtectSystem=strict leaves nothing writable but what a unit names.
    writable = {k for k in service if k in {"ReadWritePaths", "CacheDirectory", "StateDirectory"}}
    assert writable <= ({"CacheDirectory"} if name in {"ingest", "transcoder"} else set())


def test_transcoder_outlives_its_grace_period_and_others_use_loopback_where_internal() -> None:
    by_name = {unit.stem: _service_section(unit) for unit in UNITS}
    assert int(by_name["anb-transcoder"]["TimeoutStopSec"]) > 240
    assert "--host 127.0.0.1 --port 8001" in by_name["anb-ingest"]["ExecStart"]
    assert (
        "anb_gateway.app:create_app --factory --loop uvloop --host 0.0.0.0 --port 8000"
        in (by_name["anb-gateway"]["ExecStart"])
    )
