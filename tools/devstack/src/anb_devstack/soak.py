"""Simulated players against a running platform: upload, list, publish and vote, then count losses.

``make soak`` runs 50 users for 3 minutes against a platform started by the ``make run`` launcher; the
test suite runs a 30 s version. Pass: no 5xx, every upload answered 202 ends ``processed``, and the
invariants hold once the queue has drained.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

# Every request is bounded: a hung platform must fail the soak, not hang it.
_TIMEOUT = httpx.Timeout(60.0, connect=5.0)
_PASSWORD = "soak-password-1"  # noqa: S105 - throwaway accounts of a local test platform
_CITIES = ("Bogotá", "Medellín", "Cali", "Barranquilla")


@dataclass
class Outcome:
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)
    """Video ids answered 202."""
    requests: int = 0

    def record(self, label: str, response: httpx.Response) -> None:
        self.requests += 1
        self.statuses[response.status_code] += 1
        if response.status_code >= 500:
            self.server_errors.append(f"{label} -> {response.status_code}: {response.text[:200]}")


@dataclass
class Player:
    client: httpx.AsyncClient
    token: str
    videos: list[str] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def _signup_and_login(client: httpx.AsyncClient, outcome: Outcome, index: int) -> Player:
    email = f"soak-{uuid.uuid4().hex[:12]}@example.com"
    body = {
        "first_name": f"Player{index}",
        "last_name": "Soak",
        "email": email,
        "password1": _PASSWORD,
        "password2": _PASSWORD,
        "city": _CITIES[index % len(_CITIES)],
        "country": "Colombia",
    }
    signup = await client.post("/auth/signup", json=body)
    outcome.record("signup", signup)
    signup.raise_for_status()
    login = await client.post("/auth/login", json={"email": email, "password": _PASSWORD})
    outcome.record("login", login)
    login.raise_for_status()
    return Player(client, login.json()["access_token"])


async def _upload(player: Player, clip: Path, outcome: Outcome) -> None:
    with clip.open("rb") as handle:
        response = await player.client.post(
            "/videos/upload",
            headers=player.auth,
            files={"video_file": (clip.name, handle, "video/mp4")},
            data={"title": "soak clip"},
        )
    outcome.record("upload", response)
    if response.status_code == 202:
        video_id = response.json()["video_id"]
        player.videos.append(video_id)
        outcome.accepted.append(video_id)


async def _browse(player: Player, outcome: Outcome, rng: random.Random) -> None:
    choice = rng.random()
    client = player.client
    if choice < 0.25:
        outcome.record("list", await client.get("/videos", headers=player.auth))
    elif choice < 0.45 and player.videos:
        video_id = rng.choice(player.videos)
        detail = await client.get(f"/videos/{video_id}", headers=player.auth)
        outcome.record("detail", detail)
        facts = detail.json() if detail.status_code == 200 else {}
        if facts.get("status") == "processed" and not facts.get("published"):
            outcome.record("publish", await client.post(f"/videos/{video_id}/publish", headers=player.auth))
    elif choice < 0.65:
        listing = await client.get("/public/videos", params={"limit": 20})
        outcome.record("public", listing)
        if listing.status_code == 200 and listing.json():
            target = rng.choice(listing.json())["video_id"]
            outcome.record("vote", await client.post(f"/public/videos/{target}/vote", headers=player.auth))
    else:
        params = {"city": rng.choice(_CITIES)} if rng.random() < 0.5 else {}
        outcome.record("rankings", await client.get("/public/rankings", params=params))


def _share(uploads: int, users: int, index: int) -> int:
    """Player ``index``'s part of ``uploads`` spread as evenly as whole uploads allow."""
    return uploads // users + (1 if index < uploads % users else 0)


async def _play(
    player: Player, clip: Path, deadline: float, uploads: int, outcome: Outcome, seed: int
) -> None:
    rng = random.Random(seed)
    upload_at = sorted(rng.uniform(time.monotonic(), deadline) for _ in range(uploads))
    while time.monotonic() < deadline:
        if upload_at and time.monotonic() >= upload_at[0]:
            upload_at.pop(0)
            await _upload(player, clip, outcome)
        else:
            await _browse(player, outcome, rng)
        # Think time, as a person reading a page would; keeps 50 users a realistic load, not a flood.
        await asyncio.sleep(rng.uniform(0.2, 1.0))


async def _wait_processed(player_by_video: dict[str, Player], timeout_s: float) -> dict[str, str]:
    """Final status of every accepted video (polled through the API, as a player would)."""
    final: dict[str, str] = {}
    deadline = time.monotonic() + timeout_s
    pending = set(player_by_video)
    while pending and time.monotonic() < deadline:
        for video_id in list(pending):
            player = player_by_video[video_id]
            response = await player.client.get(f"/videos/{video_id}", headers=player.auth)
            status = (
                response.json().get("status")
                if response.status_code == 200
                else f"http {response.status_code}"
            )
            if status in ("processed", "failed") or response.status_code != 200:
                final[video_id] = str(status)
                pending.discard(video_id)
        if pending:
            await asyncio.sleep(2)
    for video_id in pending:
        final[video_id] = "still pending"
    return final


@dataclass
class Report:
    users: int
    duration_s: float
    requests: int
    statuses: dict[int, int]
    server_errors: list[str]
    accepted: int
    final: dict[str, int]
    not_processed: list[str]

    @property
    def passed(self) -> bool:
        return not self.server_errors and not self.not_processed and self.accepted > 0


async def soak(api: str, clip: Path, users: int, duration_s: float, uploads: int, drain_s: float) -> Report:
    outcome = Outcome()
    limits = httpx.Limits(max_connections=users * 2, max_keepalive_connections=users)
    async with httpx.AsyncClient(base_url=api, timeout=_TIMEOUT, limits=limits) as client:
        players = [await _signup_and_login(client, outcome, index) for index in range(users)]
        deadline = time.monotonic() + duration_s
        await asyncio.gather(
            *(
                _play(player, clip, deadline, _share(uploads, users, index), outcome, seed=index)
                for index, player in enumerate(players)
            )
        )
        owner = {video_id: player for player in players for video_id in player.videos}
        final = await _wait_processed(owner, drain_s)
    counts = Counter(final.values())
    return Report(
        users=users,
        duration_s=duration_s,
        requests=outcome.requests,
        statuses=dict(outcome.statuses),
        server_errors=outcome.server_errors,
        accepted=len(outcome.accepted),
        final=dict(counts),
        not_processed=[
            f"{video_id}: {status}" for video_id, status in final.items() if status != "processed"
        ],
    )


def soak_fresh_platform(
    workdir: Path, users: int, duration_s: float, uploads: int, drain_s: float, workers: int
) -> tuple[Report, list[str]]:
    """Start a platform as ``make run`` does, soak it, let the queue drain, then check the invariants."""
    # Imported here: the clip maker needs PyAV, which only the soak's own run requires.
    from anb_devstack import invariants, running
    from anb_devstack.clips import make_clip

    workdir.mkdir(parents=True, exist_ok=True)
    clip = workdir / "soak-clip.mp4"
    if not clip.exists():
        # The smallest clip the rules accept (20 s, 1080p) at a low frame rate: cheap to transcode.
        make_clip(clip, width=1920, height=1080, seconds=20.5, fps=2, options={"crf": "40"})
    # The soak signs up all its players from one address; the login/signup rate limit is for people.
    relaxed = {"ANB_AUTH_RATE_LIMIT_PER_MINUTE": "100000"}
    with running.platform(workdir / "platform", workdir / "platform.log", workers, relaxed) as started:
        report = asyncio.run(soak(started.api, clip, users, duration_s, uploads, drain_s))
        scope = invariants.Scope(aws=started.aws, db_url=started.db_url, temp_dir=started.temp_dir)
        asyncio.run(invariants.settle(scope, drain_s))
        problems = asyncio.run(invariants.check(scope))
    return report, problems


def main() -> None:
    parser = argparse.ArgumentParser(description="Soak a fresh ANB Video platform with simulated players.")
    parser.add_argument("--workdir", type=Path, default=Path(".devdata/soak"))
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=180.0)
    parser.add_argument("--uploads", type=int, default=50, help="uploads in all, spread over the players")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--drain", type=float, default=900.0, help="how long to wait for processing after")
    args = parser.parse_args()
    report, problems = soak_fresh_platform(
        args.workdir.resolve(), args.users, args.duration, args.uploads, args.drain, args.workers
    )
    print(json.dumps(report.__dict__ | {"passed": report.passed, "invariant_violations": problems}, indent=2))
    sys.exit(0 if report.passed and not problems else 1)


if __name__ == "__main__":
    main()
