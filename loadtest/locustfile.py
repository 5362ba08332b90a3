"""Players of ANB Video as Locust users: log in, look at their videos, browse, vote, rank, upload.

Run by ``loadtest.web`` (headless, its own process). Two env variables carry the run:
``ANB_LT_DATA`` the JSON written by ``loadtest.seed`` (accounts, published videos, the upload clip) and
``ANB_LT_STAGES`` the load shape (``loadtest.stages``).

The mix, per user, with 1-3 s of think time between actions (a person reading a page): list own videos
6, own video detail 6, public list 8, rankings 6, vote 4, log in again 1, upload 1 (plus one login when a
user starts). So about 3 % of requests are uploads, which is still far more uploading than a real
audience does, and about 3 % are logins (Argon2id verification, the costliest request).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import time
from pathlib import Path
from typing import Any

from locust import HttpUser, LoadTestShape, between, task

from loadtest import stages

_DATA: dict[str, Any] = (
    json.loads(Path(os.environ["ANB_LT_DATA"]).read_text()) if "ANB_LT_DATA" in os.environ else {}
)
_ACCOUNTS = itertools.cycle(_DATA.get("accounts", [{}]))
_ALREADY_VOTED = "Ya has votado"


class Player(HttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.account: dict[str, str] = next(_ACCOUNTS)
        self.videos: list[str] = [self.account["video_id"]]
        self.token = ""
        self.login()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @task(1)
    def login(self) -> None:
        body = {"email": self.account["email"], "password": self.account["password"]}
        with self.client.post("/api/auth/login", json=body, catch_response=True) as response:
            if response.status_code == 200:
                self.token = response.json()["access_token"]
            else:
                response.failure(f"login answered {response.status_code}")

    @task(6)
    def my_videos(self) -> None:
        self.client.get("/api/videos", headers=self.auth, params={"limit": 20}, name="/api/videos")

    @task(6)
    def detail(self) -> None:
        video_id = random.choice(self.videos)
        self.client.get(f"/api/videos/{video_id}", headers=self.auth, name="/api/videos/[id]")

    @task(8)
    def public_list(self) -> None:
        params = {"limit": 20, "offset": random.choice((0, 0, 0, 20, 40))}
        if random.random() < 0.3:
            params["city"] = random.choice(_DATA["cities"])
        self.client.get("/api/public/videos", params=params, name="/api/public/videos")

    @task(6)
    def rankings(self) -> None:
        params = {"city": random.choice(_DATA["cities"])} if random.random() < 0.5 else {}
        self.client.get("/api/public/rankings", params=params, name="/api/public/rankings")

    @task(4)
    def vote(self) -> None:
        video_id = random.choice(_DATA["published"])
        path = f"/api/public/videos/{video_id}/vote"
        with self.client.post(
            path, headers=self.auth, name="/api/public/videos/[id]/vote", catch_response=True
        ) as response:
            # Accounts are shared by several simulated users, so a second vote on a video is expected;
            # the platform's answer to it (400, "already voted") is correct behaviour, not an error.
            if response.status_code == 400 and _ALREADY_VOTED in response.text:
                response.success()

    @task(1)
    def upload(self) -> None:
        clip = Path(_DATA["clip"])
        with clip.open("rb") as handle:
            files = {"video_file": (clip.name, handle, "video/mp4")}
            response = self.client.post(
                "/api/videos/upload",
                headers=self.auth,
                files=files,
                data={"title": f"load {time.time():.0f}"},
            )
        if response.status_code == 202:
            self.videos.append(response.json()["video_id"])


class Stages(LoadTestShape):
    """The scenario from ``ANB_LT_STAGES``: ramp, hold, stop."""

    def tick(self) -> tuple[int, float] | None:
        elapsed: float = self.get_run_time()  # type: ignore[no-untyped-call]
        return stages.at(stages.decode(os.environ.get(stages.ENV, "")), elapsed)
