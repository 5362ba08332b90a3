"""Live events on the platform as ``make run`` starts it: a real clip, uploaded with ``anb upload`` and
processed by a real transcoder, is followed by ``anb show --follow`` and by a bare event stream. The
stream sees the video's life in order (uploaded, processing, processed) under increasing ids."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from anb_cli.sse import Decoder, Event
from anb_devstack.clips import make_clip

ANB = str(Path(sys.executable).with_name("anb"))
PASSWORD = "Cancha-2026-segura"
ORDER = {"uploaded": 0, "processing": 1, "processed": 2}

pytestmark = pytest.mark.slow


class RunningPlatform(Protocol):
    api: str


def anb(env: dict[str, str], *argv: str, timeout: float = 300) -> str:
    argv = (ANB, *argv)
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert result.returncode == 0, f"anb {' '.join(argv)}\n{result.stdout}\n{result.stderr}"
    return result.stdout


class Follower(threading.Thread):
    """A bare client of GET /api/videos/events, reading until one video is processed or failed."""

    def __init__(self, api: str, token: str) -> None:
        super().__init__(daemon=True)
        self._api, self._token = api, token
        self.video_id: str | None = None
        self.connected = threading.Event()
        self.events: list[tuple[int, dict[str, object]]] = []

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self._token}"}
        with httpx.stream("GET", f"{self._api}/videos/events", headers=headers, timeout=60) as response:
            decoder = Decoder()
            for line in response.iter_lines():
                item = decoder.feed(line)
                self.connected.set()
                if isinstance(item, Event):
                    data = json.loads(item.data)
                    if data["video_id"] == self.video_id:
                        self.events.append((int(str(item.id)), data))
                        if data["status"] in ("processed", "failed"):
                            return


def test_a_real_upload_is_followed_live(platform: RunningPlatform, tmp_path: Path) -> None:
    env = {**os.environ, "ANB_API_URL": platform.api, "XDG_CONFIG_HOME": str(tmp_path / "config")}
    email = f"vivo.{uuid.uuid4().hex[:10]}@example.com"
    anb(
        env, "signup", "--first-name", "Vivo", "--last-name", "Directo", "--email", email,
        "--city", "Manizales", "--country", "Colombia", "--password", PASSWORD,
    )  # fmt: skip
    anb(env, "login", "--email", email, "--password", PASSWORD)
    saved = json.loads((tmp_path / "config" / "anb" / "credentials.json").read_text())
    follower = Follower(platform.api, saved["tokens"][platform.api]["access_token"])
    follower.start()
    assert follower.connected.wait(60)
    clip = make_clip(tmp_path / "clip.mp4", width=1920, height=1080, seconds=21, fps=5, options={"crf": "40"})

    uploaded = anb(env, "upload", str(clip), "--title", "En vivo")
    lines = uploaded.splitlines()
    follower.video_id = next(line.split(": ")[1] for line in lines if line.startswith("video_id:"))
    shown = anb(env, "show", follower.video_id, "--follow")
    follower.join(60)

    assert "status processed" in " ".join(shown.split())
    assert "processed_url" in shown
    ids = [event_id for event_id, _ in follower.events]
    assert ids == sorted(set(ids))
    statuses = [str(data["status"]) for _, data in follower.events]
    assert statuses[-1] == "processed"
    assert [ORDER[status] for status in statuses] == sorted(ORDER[status] for status in statuses)
    progress = [data["progress"] for _, data in follower.events if data["status"] == "processing"]
    assert progress == sorted(progress)
