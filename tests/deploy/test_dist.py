"""`make dist` lays out a release the way the bootstrap scripts read it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .support import DEPLOY, REPO

SERVICES = ("gateway", "ingest", "transcoder")


@pytest.mark.slow
def test_dist_holds_what_the_bootstrap_installs(tmp_path: Path) -> None:
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    dist = tmp_path / "dist"
    # -o sync: the test session already runs in the synced environment.
    subprocess.run(
        [make, "-s", "-o", "sync", "dist", f"DIST={dist}"], cwd=REPO, check=True, capture_output=True
    )
    wheels = sorted(p.name.split("-")[0] for p in (dist / "wheels").glob("*.whl"))
    assert wheels == ["anb_common", "anb_gateway", "anb_ingest", "anb_transcoder"]
    for service in SERVICES:
        requirements = (dist / "requirements" / f"anb-{service}.txt").read_text()
        # Every pin carries hashes (pip --require-hashes) and no workspace package is among them.
        assert "--hash=sha256:" in requirements
        assert not any(line.startswith(("anb-", "-e")) for line in requirements.splitlines())
        assert (dist / "systemd" / f"anb-{service}.service").is_file()
    assert sorted(p.name for p in (dist / "bootstrap").iterdir()) == sorted(
        p.name for p in (DEPLOY / "bootstrap").iterdir()
    )
