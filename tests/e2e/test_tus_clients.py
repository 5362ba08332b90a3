"""Real tus clients against the platform's /api/uploads/: tus's reference Python client (tuspy, with
its SHA-1 checksums) and tus-js-client under Node (installed from the npm registry into
clients/tusjs, pinned by its lock file, as newman is into clients/postman). Each uploads a 1080p
clip that ends processed, its original the source byte for byte."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
from tusclient import client as tuspy

from anb_devstack.clips import make_clip
from anb_devstack.running import RunningPlatform

ROOT = Path(__file__).resolve().parents[2]
TUSJS = ROOT / "clients" / "tusjs"
MIB = 1024 * 1024

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def node_client() -> Path:
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm is not installed (apt-get install -y npm)")
    installed = TUSJS / "node_modules" / ".package-lock.json"
    stale = (
        not installed.exists() or (TUSJS / "package-lock.json").stat().st_mtime > installed.stat().st_mtime
    )
    if stale:
        subprocess.run(
            [npm, "ci", "--prefix", str(TUSJS), "--no-audit", "--no-fund"], check=True, timeout=300
        )
    return TUSJS / "upload.mjs"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tus-clients")
    return make_clip(folder / "clip.mp4", width=1920, height=1080, seconds=21, fps=5, options={"crf": "40"})


@pytest.fixture(scope="module")
def token(platform: RunningPlatform) -> str:
    email, password = f"tus.{uuid.uuid4().hex[:10]}@example.com", "Cancha-2026-segura"
    signup = {
        "first_name": "Tus", "last_name": "Clientes", "email": email, "password1": password,
        "password2": password, "city": "Cali", "country": "Colombia",
    }  # fmt: skip
    assert httpx.post(f"{platform.api}/auth/signup", json=signup, timeout=30).status_code == 201
    login = httpx.post(f"{platform.api}/auth/login", json={"email": email, "password": password}, timeout=30)
    return str(login.json()["access_token"])


def _ends_processed(platform: RunningPlatform, token: str, url: str, source: Path) -> None:
    video_id = url.rstrip("/").rsplit("/", 1)[-1]
    auth = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + 300
    while True:
        video = httpx.get(f"{platform.api}/videos/{video_id}", headers=auth, timeout=30).json()
        if video["status"] in ("processed", "failed") or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert video["status"] == "processed", video
    stored = httpx.get(video["original_url"], timeout=60).content
    assert hashlib.sha256(stored).digest() == hashlib.sha256(source.read_bytes()).digest()


def test_tuspy_uploads_a_clip_that_ends_processed(platform: RunningPlatform, token: str, clip: Path) -> None:
    tus = tuspy.TusClient(f"{platform.api}/uploads/", headers={"Authorization": f"Bearer {token}"})
    uploader = tus.uploader(
        str(clip),
        chunk_size=MIB,  # several PATCHes, each with its Upload-Checksum
        metadata={"title": "Con tuspy", "filename": clip.name},
        upload_checksum=True,
    )
    uploader.upload()
    assert uploader.offset == clip.stat().st_size
    assert uploader.url is not None
    _ends_processed(platform, token, uploader.url, clip)


def test_tus_js_client_uploads_a_clip_that_ends_processed(
    platform: RunningPlatform, token: str, clip: Path, node_client: Path
) -> None:
    node = shutil.which("node")
    assert node is not None
    result = subprocess.run(
        [node, str(node_client), platform.api, token, str(clip), "Con tus-js-client"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    _ends_processed(platform, token, result.stdout.strip().splitlines()[-1], clip)
