"""The locustfile imports under Locust and exposes the players and the load shape the runner relies on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from loadtest import stages
from loadtest.locust_run import LOCUSTFILE, ROOT


def _env(tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"accounts": [], "published": [], "cities": ["Cali"], "clip": "x.mp4"}))
    return {
        **os.environ,
        "ANB_LT_DATA": str(data),
        stages.ENV: stages.encode(stages.smoke(5, 60)),
        "PYTHONPATH": str(ROOT),
    }


def test_locust_lists_the_player(tmp_path: Path) -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--list"],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "Player" in listed.stdout


# Importing locust monkey-patches the interpreter (gevent), so the mix is read in a child process.
_TASK_NAMES = """
import json
from loadtest.locustfile import Player, Stages
print(json.dumps([task.__name__ for task in Player.tasks]))
"""


def test_the_mix_covers_the_course_actions_with_small_upload_and_login_shares(tmp_path: Path) -> None:
    shown = subprocess.run(
        [sys.executable, "-c", _TASK_NAMES],
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        cwd=ROOT,
    )
    # Locust expands @task weights into a list with each task repeated weight times.
    names = json.loads(shown.stdout.strip().splitlines()[-1])
    assert set(names) == {"my_videos", "detail", "public_list", "rankings", "vote", "login", "upload"}
    assert names.count("upload") / len(names) < 0.05
    assert names.count("login") / len(names) < 0.05
