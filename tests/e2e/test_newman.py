"""The Postman collection, run by newman (installed from the npm registry into clients/postman), against
the platform the e2e tests start: every request and every assertion must pass."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Protocol

import pytest

ROOT = Path(__file__).resolve().parents[2]
POSTMAN = ROOT / "clients" / "postman"
NEWMAN = POSTMAN / "node_modules" / ".bin" / "newman"
COLLECTION = ROOT / "collections" / "anb.postman_collection.json"
ENVIRONMENT = ROOT / "collections" / "postman_environment.json"

pytestmark = pytest.mark.slow


class RunningPlatform(Protocol):
    api: str


@pytest.fixture(scope="module")
def newman() -> Path:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed (apt-get install -y npm)")
    installed = POSTMAN / "node_modules" / ".package-lock.json"
    stale = (
        not installed.exists() or (POSTMAN / "package-lock.json").stat().st_mtime > installed.stat().st_mtime
    )
    if not NEWMAN.exists() or stale:
        subprocess.run(
            [npm, "ci", "--prefix", str(POSTMAN), "--no-audit", "--no-fund"], check=True, timeout=300
        )
    return NEWMAN


@pytest.fixture(scope="module")
def uploads(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("newman")
    subprocess.run([sys.executable, str(POSTMAN / "fixtures.py"), str(folder)], check=True, timeout=300)
    return folder


def _names(items: list[dict[str, object]]) -> set[str]:
    names: set[str] = set()
    for entry in items:
        children = entry.get("item")
        if isinstance(children, list):
            names |= _names(children)
        else:
            names.add(str(entry["name"]))
    return names


def test_collection_passes_against_the_platform(
    platform: RunningPlatform, newman: Path, uploads: Path, tmp_path: Path
) -> None:
    report = tmp_path / "newman.json"
    argv = [
        str(newman), "run", str(COLLECTION),
        "--environment", str(ENVIRONMENT),
        "--env-var", f"base_url={platform.api}",
        "--working-dir", str(uploads), "--no-insecure-file-read",
        "--reporters", "cli,json", "--reporter-json-export", str(report),
        "--color", "off",
    ]  # fmt: skip
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]

    run = json.loads(report.read_text())["run"]
    assert run["failures"] == []
    executed = {execution["item"]["name"] for execution in run["executions"]}
    assert executed == _names(json.loads(COLLECTION.read_text())["item"])
    assert run["stats"]["assertions"]["failed"] == 0
    assert run["stats"]["assertions"]["total"] > 100
