"""`make dist` lays out the release an instance installs: wheels, a hashed wheelhouse, the units, the
bootstrap, the brand assets, SHA256SUMS. Built once per test session (``built_release``), shared with
test_release.py, which installs each service from it alone."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from .support import DEPLOY, REPO

SERVICES = ("gateway", "ingest", "transcoder")
_BUILT: dict[str, Path] = {}


def built_release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make dist` into a session folder, once per test session."""
    if "dist" not in _BUILT:
        make = shutil.which("make")
        if make is None:
            pytest.skip("make is not installed")
        dist = tmp_path_factory.mktemp("release") / "dist"
        # -o uv: the test session already runs with the project's uv in place.
        result = subprocess.run(
            [make, "-s", "-o", "uv", "dist", f"DIST={dist}"], cwd=REPO, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
        _BUILT["dist"] = dist
    return _BUILT["dist"]


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return built_release(tmp_path_factory)


@pytest.mark.slow
def test_dist_holds_what_the_bootstrap_installs(release: Path) -> None:
    wheels = sorted(p.name.split("-")[0] for p in (release / "wheels").glob("*.whl"))
    assert wheels == ["anb_common", "anb_gateway", "anb_ingest", "anb_transcoder"]
    wheelhouse = {p.name for p in (release / "wheelhouse").iterdir()}
    assert all(name.endswith(".whl") for name in wheelhouse), "only wheels: nothing is built at boot"
    assert any(name.startswith("pip-") for name in wheelhouse)
    for service in SERVICES:
        requirements = (release / "requirements" / f"anb-{service}.txt").read_text()
        # One logical line per pin: "name==version ; marker \\ --hash=... --hash=...".
        logical = requirements.replace("\\\n", " ").splitlines()
        pins = [Requirement(line.split(" --hash")[0]) for line in logical if line and line[0].isalnum()]
        # Every pin carries hashes (pip --require-hashes), our own wheels included, and nothing is editable.
        assert requirements.count("--hash=sha256:") >= len(pins)
        assert not any(line.startswith("-e") for line in requirements.splitlines())
        assert f"anb-{service}==" in requirements
        assert "anb-common==" in requirements
        for pin in pins:
            name = pin.name.replace("-", "_").lower()
            if not name.startswith("anb_") and (pin.marker is None or pin.marker.evaluate()):
                assert any(w.lower().startswith(name + "-") for w in wheelhouse), pin
        assert (release / "systemd" / f"anb-{service}.service").is_file()
    assert sorted(p.name for p in (release / "bootstrap").iterdir()) == sorted(
        p.name for p in (DEPLOY / "bootstrap").iterdir() if p.is_file()
    )
    assert sorted(p.name for p in (release / "resources").iterdir()) == ["intro.png", "logo.png", "outro.png"]
    assert (release / "RELEASE").read_text().strip()


def test_sha256sums_lists_every_file_with_its_digest(release: Path) -> None:
    listed = {}
    for line in (release / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(None, 1)
        listed[name] = digest
    files = {str(p.relative_to(release)) for p in release.rglob("*") if p.is_file()} - {"SHA256SUMS"}
    assert set(listed) == files
    for name, digest in listed.items():
        assert hashlib.sha256((release / name).read_bytes()).hexdigest() == digest, name
