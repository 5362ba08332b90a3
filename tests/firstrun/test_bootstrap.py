"""A first run on a stock machine: a fresh clone (no .venv) and an empty HOME, where `make` brings its
own pinned uv into the project, installs what running needs and nothing else, and writes nowhere but
the clone and the uv cache it is pointed at."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
# What belongs to this test run (its virtualenv, its make, its user's folders) rather than to the
# machine; the rest of the environment (package index, certificates, proxies) is kept, as a new user's
# shell on this machine would have it.
_THIS_RUN = {"HOME", "PATH", "VIRTUAL_ENV", "UV", "UV_RUN_RECURSION_DEPTH", "UV_CACHE_DIR", "MFLAGS"}
_THIS_RUN_PREFIXES = ("XDG_", "MAKE", "PYENV", "PYTHON")


def _uv_cache() -> Path:
    """The machine's uv cache, reused so that nothing is downloaded twice (uv's own rules on Linux)."""
    if "UV_CACHE_DIR" in os.environ:
        return Path(os.environ["UV_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "uv"


def _python311(bin_dir: Path) -> Path:
    """The system's python3.11, as on a stock machine; else the interpreter behind these tests."""
    system = shutil.which("python3.11", path=SYSTEM_PATH)
    if system is not None:
        return Path(system)
    bin_dir.mkdir()
    (bin_dir / "python3.11").symlink_to(Path(getattr(sys, "_base_executable", sys.executable)).resolve())
    return bin_dir / "python3.11"


@dataclass(frozen=True)
class FirstRun:
    clone: Path
    home: Path
    env: dict[str, str]
    python: Path

    def make(self, *targets: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["make", "-C", str(self.clone), *targets],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
        )


def _site_packages(python: Path) -> list[str]:
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return sorted(os.listdir(purelib)) if os.path.isdir(purelib) else []


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory) -> FirstRun:
    if shutil.which("make") is None or shutil.which("git") is None:
        pytest.skip("make and git are needed")
    root = tmp_path_factory.mktemp("firstrun")
    clone = root / "clone"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    home = root / "home"
    home.mkdir()
    bin_dir = root / "bin"
    python = _python311(bin_dir)
    (root / "tmp").mkdir()
    machine = {
        key: value
        for key, value in os.environ.items()
        if key not in _THIS_RUN and not key.startswith(_THIS_RUN_PREFIXES)
    }
    env = {
        **machine,
        "HOME": str(home),
        "PATH": f"{bin_dir}:{SYSTEM_PATH}",
        "TMPDIR": str(root / "tmp"),
        "UV_CACHE_DIR": str(_uv_cache()),
    }
    return FirstRun(clone, home, env, python)


@pytest.mark.slow
def test_make_brings_a_pinned_uv_into_the_project_and_installs_only_what_running_needs(
    first_run: FirstRun,
) -> None:
    site_packages = _site_packages(first_run.python)
    result = first_run.make("sync")
    assert result.returncode == 0, result.stdout + result.stderr

    private_uv = first_run.clone / ".tools" / "uv" / "bin" / "uv"
    pin = re.search(r"^UV_VERSION := (\S+)$", (first_run.clone / "Makefile").read_text(), re.MULTILINE)
    assert pin is not None
    version = subprocess.run([str(private_uv), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.split()[:2] == ["uv", pin.group(1)]
    assert f"{private_uv} sync --locked" in result.stdout

    # The launcher and the services import; the groups of other targets are not installed.
    found = subprocess.run(
        [
            str(first_run.clone / ".venv" / "bin" / "python"),
            "-c",
            "import importlib.util as u, anb_devstack.launcher, anb_gateway.app, anb_ingest.app, "
            "anb_transcoder.worker; "
            "print(*(m for m in ('pytest', 'mypy', 'moviepy', 'locust', 'matplotlib') if u.find_spec(m)))",
        ],
        capture_output=True,
        text=True,
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.split() == []

    # Nothing outside the clone: HOME untouched, the system's Python as it was, git sees no new file.
    assert list(first_run.home.iterdir()) == []
    assert _site_packages(first_run.python) == site_packages
    status = subprocess.run(
        ["git", "-C", str(first_run.clone), "status", "--porcelain"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert status.stdout == ""


@pytest.mark.slow
def test_a_lock_that_no_longer_matches_fails_instead_of_resolving_again(first_run: FirstRun) -> None:
    pyproject = first_run.clone / "pyproject.toml"
    original = pyproject.read_text()
    pyproject.write_text(original.replace('"pytest>=9"', '"pytest>=9.0.1"'))
    try:
        result = first_run.make("sync")
    finally:
        pyproject.write_text(original)
    assert result.returncode != 0
    assert "--locked" in result.stderr, result.stderr
    assert list(first_run.home.iterdir()) == []
