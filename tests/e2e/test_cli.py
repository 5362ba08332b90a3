"""The ``anb`` console script against the running platform: every command, a real clip uploaded with
``--wait`` until processed, downloaded, published, voted for and ranked."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import av
import httpx
import pytest
from gateway.test_media import ffmpeg_frames

from anb_devstack.clips import make_clip

ANB = str(Path(sys.executable).with_name("anb"))
PASSWORD = "Cancha-2026-segura"
# The contract lets a vote take up to 60 s to reach the rankings.
RANKING_WAIT_S = 75.0

pytestmark = pytest.mark.slow


class RunningPlatform(Protocol):
    api: str


def _cells(line: str) -> list[str]:
    # Table columns are set apart by at least two spaces; values have single spaces at most.
    return [cell for cell in re.split(r"\s{2,}", line.strip()) if cell]


@dataclass
class Player:
    api: str
    config: Path
    email: str
    first_name: str
    last_name: str
    city: str

    @property
    def username(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def run(
        self, *argv: str, cwd: Path | None = None, timeout: float = 240
    ) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "ANB_API_URL": self.api, "XDG_CONFIG_HOME": str(self.config), "COLUMNS": "250"}
        return subprocess.run(
            [ANB, *argv], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )

    def ok(self, *argv: str, cwd: Path | None = None) -> str:
        result = self.run(*argv, cwd=cwd)
        assert result.returncode == 0, f"anb {' '.join(argv)}\n{result.stdout}\n{result.stderr}"
        return result.stdout

    def fails(self, *argv: str) -> str:
        result = self.run(*argv)
        assert result.returncode == 1, f"anb {' '.join(argv)}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr
        return result.stderr


def _signed_up(platform: RunningPlatform, root: Path, first: str, last: str, city: str) -> Player:
    tag = uuid.uuid4().hex[:10]
    player = Player(
        platform.api, root / f"config-{tag}", f"{first.lower()}.{tag}@example.com", first, last, city
    )
    player.ok(
        "signup",
        "--first-name", first, "--last-name", last, "--email", player.email,
        "--city", city, "--country", "Colombia", "--password", PASSWORD,
    )  # fmt: skip
    player.ok("login", "--email", player.email, "--password", PASSWORD)
    return player


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def city() -> str:
    # A city of its own, so the rankings filtered by it hold exactly this module's player.
    return f"Bogotá {uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def ana(platform: RunningPlatform, workdir: Path, city: str) -> Player:
    return _signed_up(platform, workdir, "Ana", f"Díaz {uuid.uuid4().hex[:6]}", city)


@pytest.fixture(scope="module")
def luis(platform: RunningPlatform, workdir: Path) -> Player:
    return _signed_up(platform, workdir, "Luis", "Pérez", "Cali")


@pytest.fixture(scope="module")
def clip(workdir: Path) -> Path:
    # 1080p and 21 s: accepted; 5 fps and a high CRF keep it ~2 MB so it uploads and transcodes fast.
    return make_clip(workdir / "clip.mp4", width=1920, height=1080, seconds=21, fps=5, options={"crf": "40"})


@dataclass
class Uploaded:
    video_id: str
    title: str
    stdout: str
    stderr: str


@pytest.fixture(scope="module")
def processed(ana: Player, clip: Path) -> Uploaded:
    title = f"Clavada {uuid.uuid4().hex[:6]}"
    result = ana.run("upload", str(clip), "--title", title, "--wait")
    assert result.returncode == 0, result.stdout + result.stderr
    video_id = next(
        line.split(": ")[1] for line in result.stdout.splitlines() if line.startswith("video_id: ")
    )
    return Uploaded(video_id.strip(), title, result.stdout, result.stderr)


def test_login_keeps_the_token_private(ana: Player) -> None:
    path = ana.config / "anb" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    saved = json.loads(path.read_text())["tokens"][ana.api]
    assert saved["email"] == ana.email
    assert saved["access_token"].count(".") == 2


def test_signup_errors_print_the_api_detail(ana: Player) -> None:
    stderr = ana.fails(
        "signup", "--first-name", "Otra", "--last-name", "Vez", "--email", ana.email.upper(),
        "--city", "Cali", "--country", "Colombia", "--password", PASSWORD,
    )  # fmt: skip
    assert "Error:" in stderr
    assert "HTTP 400" in stderr


def test_bad_login_prints_the_api_detail_and_keeps_the_saved_token(ana: Player) -> None:
    before = (ana.config / "anb" / "credentials.json").read_text()
    stderr = ana.fails("login", "--email", ana.email, "--password", "no-es-la-clave")
    assert "HTTP 401" in stderr
    assert (ana.config / "anb" / "credentials.json").read_text() == before


def test_upload_wait_shows_progress_and_ends_processed(processed: Uploaded, clip: Path) -> None:
    assert "Video subido correctamente. Procesamiento en curso." in processed.stdout
    lines = processed.stdout.splitlines()
    assert "processed" in lines
    assert any(line.startswith("processed_url: http") for line in lines)
    # The byte progress bar (its final frame without a terminal) and the status changes.
    size_mb = f"{clip.stat().st_size / 1e6:.1f} MB"
    assert size_mb in processed.stderr
    assert clip.name in processed.stderr
    assert "uploaded" in processed.stderr or "processing" in processed.stderr


def test_ls_lists_the_processed_video(ana: Player, processed: Uploaded) -> None:
    listing = ana.ok("ls")
    row = next(line for line in listing.splitlines() if processed.video_id in line)
    assert processed.title in row
    assert "processed" in row


def test_show_details(ana: Player, processed: Uploaded) -> None:
    details = ana.ok("show", processed.video_id)
    assert processed.title in details
    assert "processed_url" in details
    assert "original_url" in details


def _links(details: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in details.splitlines() if re.match(r"^\w+_url: ", line))


def test_show_lists_the_pictures_and_the_playlist_ffmpeg_plays(ana: Player, processed: Uploaded) -> None:
    links = _links(ana.ok("show", processed.video_id))
    assert {"poster_url", "storyboard_url", "hls_url"} <= set(links)
    # The processed video as HLS, by its link alone: every frame of the MP4 download.
    assert ffmpeg_frames(links["hls_url"]) == ffmpeg_frames(links["processed_url"])
    storyboard = httpx.get(links["storyboard_url"], timeout=30)
    assert storyboard.status_code == 200
    assert storyboard.text.startswith("WEBVTT")


def test_poster_picks_the_moment_and_show_hands_out_the_new_one(ana: Player, processed: Uploaded) -> None:
    before = _links(ana.ok("show", processed.video_id))["poster_url"]
    answer = ana.ok("poster", processed.video_id, "--at", "1.5")
    assert "Portada actualizada." in answer
    picked = _links(answer)["poster_url"]
    assert picked.split("?")[0] != before.split("?")[0]
    assert _links(ana.ok("show", processed.video_id))["poster_url"].split("?")[0] == picked.split("?")[0]
    assert httpx.get(picked, timeout=30).content.startswith(b"\xff\xd8")  # a JPEG
    # Past the footage (21 s of clip, 30 s at most): the API's Spanish rule, nothing changed.
    refused = ana.fails("poster", processed.video_id, "--at", "99")
    assert "time_s: el momento debe estar dentro de las imágenes del jugador" in refused
    assert _links(ana.ok("show", processed.video_id))["poster_url"].split("?")[0] == picked.split("?")[0]


def test_show_errors(ana: Player, luis: Player, processed: Uploaded) -> None:
    assert "HTTP 404" in ana.fails("show", "not-a-uuid")
    assert "HTTP 404" in ana.fails("show", str(uuid.uuid4()))
    assert "HTTP 403" in luis.fails("show", processed.video_id)


def test_download_streams_the_processed_mp4(ana: Player, processed: Uploaded, workdir: Path) -> None:
    target = workdir / "descarga.mp4"
    ana.ok("download", processed.video_id, "-o", str(target))
    assert not target.with_name("descarga.mp4.part").exists()
    with av.open(str(target)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.width, video.codec_context.height) == (1280, 720)
    # Without -o the file is named after the video, in the current folder.
    ana.ok("download", processed.video_id, cwd=workdir)
    assert (workdir / f"{processed.video_id}.mp4").read_bytes() == target.read_bytes()


def test_upload_refused_by_the_api_prints_its_detail(ana: Player, workdir: Path) -> None:
    short = make_clip(workdir / "short.mp4", width=1920, height=1080, seconds=5, fps=5, options={"crf": "40"})
    stderr = ana.fails("upload", str(short), "--title", "Muy corto")
    assert "HTTP 400" in stderr


def test_delete_an_unpublished_video(ana: Player, luis: Player, clip: Path) -> None:
    uploaded = ana.ok("upload", str(clip), "--title", "Para borrar")
    video_id = next(line.split(": ")[1] for line in uploaded.splitlines() if line.startswith("video_id: "))
    assert "HTTP 403" in luis.fails("delete", "-y", video_id)
    assert "El video ha sido eliminado exitosamente." in ana.ok("delete", "--yes", video_id)
    assert "HTTP 404" in ana.fails("show", video_id)


def test_publish_vote_and_rankings(ana: Player, luis: Player, processed: Uploaded, city: str) -> None:
    assert "HTTP 403" in luis.fails("publish", processed.video_id)
    assert "El video ha sido publicado para votación." in ana.ok("publish", processed.video_id)
    assert "HTTP 400" in ana.fails("publish", processed.video_id)
    assert "HTTP 400" in ana.fails("delete", "-y", processed.video_id)

    public = luis.ok("videos", "--city", city)
    assert processed.title in public
    assert ana.username in public

    assert "Voto registrado exitosamente." in luis.ok("vote", processed.video_id)
    again = luis.fails("vote", processed.video_id)
    assert "Ya has votado por este video." in again
    assert "HTTP 400" in again

    deadline = time.monotonic() + RANKING_WAIT_S
    while True:
        table = luis.ok("rankings", "--city", city)
        row = next((_cells(line) for line in table.splitlines() if ana.username in line), [])
        if row[-1:] == ["1"] or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert row == ["1", ana.username, city, "1"], table


def test_rankings_bad_parameters_are_refused_before_sending(luis: Player) -> None:
    result = luis.run("rankings", "--limit", "0")
    assert result.returncode == 2
