"""Helpers of the fault-injection tests: the platform under test, a player, timings."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from anb_devstack import invariants
from anb_devstack.faultproxy import FaultProxy
from anb_devstack.running import RunningPlatform

# A job whose worker died comes back after this many seconds (production: 300).
VISIBILITY_S = 8
FAULT_ENV = {
    "ANB_WORKER_VISIBILITY_TIMEOUT_S": str(VISIBILITY_S),
    "ANB_WORKER_RETRY_BASE_S": "1",
    "ANB_WORKER_RETRY_CAP_S": "4",
    "ANB_WORKER_WAIT_TIME_S": "2",
    "ANB_WORKER_DLQ_SWEEP_INTERVAL_S": "2",
    "ANB_INGEST_RELAY_INTERVAL_S": "0.5",
    "ANB_INGEST_RELAY_BACKOFF_CAP_S": "2",
    "ANB_INGEST_RECOVERY_INTERVAL_S": "2",
    "ANB_AUTH_RATE_LIMIT_PER_MINUTE": "100000",
    "ANB_AUTH_ACCOUNT_FAILURES": "100000",
    # botocore's retries would otherwise ride out a short outage; faults should reach our own code.
    "ANB_AWS_MAX_ATTEMPTS": "2",
    "ANB_AWS_CONNECT_TIMEOUT_S": "1",
}


@dataclass
class FaultPlatform:
    running: RunningPlatform
    proxy: FaultProxy

    @property
    def api(self) -> str:
        return self.running.api

    @property
    def scope(self) -> invariants.Scope:
        return invariants.Scope(
            aws=self.running.aws,
            db_url=self.running.db_url,
            temp_dir=self.running.temp_dir,
            spool_dir=self.running.spool_dir,
        )

    def children(self, marker: str) -> list[psutil.Process]:
        """Service processes of the platform whose command line contains ``marker``."""
        launcher = psutil.Process(self.running.process.pid)
        return [
            child
            for child in launcher.children(recursive=True)
            if any(marker in part for part in child.cmdline())
        ]

    async def assert_invariants(self, settle_s: float = 120.0) -> None:
        await invariants.settle(self.scope, settle_s)
        problems = await invariants.check(self.scope)
        assert problems == [], "\n".join(problems)


@dataclass
class Player:
    client: httpx.AsyncClient
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def upload(self, clip: Path, title: str = "fault test") -> httpx.Response:
        with clip.open("rb") as handle:
            return await self.client.post(
                "/videos/upload",
                headers=self.auth,
                files={"video_file": (clip.name, handle, "video/mp4")},
                data={"title": title},
            )

    async def status(self, video_id: str) -> str:
        response = await self.client.get(f"/videos/{video_id}", headers=self.auth)
        if response.status_code == 404:
            return "gone"
        response.raise_for_status()
        return str(response.json()["status"])

    async def wait_for(self, video_id: str, wanted: set[str], timeout_s: float = 180.0) -> str:
        deadline = time.monotonic() + timeout_s
        status = await self.status(video_id)
        while status not in wanted and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            status = await self.status(video_id)
        return status


async def new_player(api: str) -> Player:
    client = httpx.AsyncClient(base_url=api, timeout=httpx.Timeout(120.0, connect=5.0))
    email = f"fault-{uuid.uuid4().hex[:12]}@example.com"
    password = "fault-password-1"
    signup = await client.post(
        "/auth/signup",
        json={
            "first_name": "Fault",
            "last_name": "Tester",
            "email": email,
            "password1": password,
            "password2": password,
            "city": "Cali",
            "country": "Colombia",
        },
    )
    assert signup.status_code == 201, signup.text
    login = await client.post("/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    return Player(client, login.json()["access_token"])
