"""Secrets never reach the platform's logs: its combined log is read after the other hostile and
security modules ran (the module order puts this one last) and grepped for every signing key,
password and token those tests used or received."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from hostile import CREDENTIALS, PASSWORD, Player, login, secrets_of, service_pids, upload
from hostile_fixtures import (  # noqa: F401 - fixtures
    Clips,
    fixture_api,
    fixture_clips,
    fixture_hostile_platform,
    fixture_initial_pids,
    fixture_player,
)

from anb_devstack import invariants
from anb_devstack.running import RunningPlatform

pytestmark = pytest.mark.slow

# Any JWT at all (header and claims are base64url JSON objects, so they start with "eyJ").
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")


def test_secrets_never_appear_in_the_logs(
    hostile_platform: RunningPlatform, api: httpx.Client, player: Player, clips: Clips
) -> None:
    # The paths most likely to log a credential, taken here too in case this module runs alone.
    api.post("/auth/login", json={"email": player.email, "password": "wrong-" + PASSWORD})
    api.post("/auth/login", json={"email": f"nobody-{uuid.uuid4().hex}@example.com", "password": PASSWORD})
    token = login(api, player.email, PASSWORD)
    api.get("/videos", headers={"Authorization": f"Bearer {token}x"})
    upload(api, player, b"not a video", title="log check")
    upload(api, player, clips.mp4.read_bytes()[:4096], title="log check")

    log = hostile_platform.log.read_text(errors="replace")
    assert "upload" in log, "the log holds no request traces: nothing was checked"
    keys = secrets_of(hostile_platform.devdata)
    secrets = {"JWT signing key": keys["jwt_secret"], "internal signing key": keys["internal_secret"]}
    secrets |= {f"credential #{index}": value for index, value in enumerate(sorted(CREDENTIALS))}
    leaked = [name for name, value in secrets.items() if value and value in log]
    assert leaked == [], f"found in {hostile_platform.log}: {leaked}"
    tokens = _JWT.findall(log)
    assert tokens == [], f"JWTs in the log: {[token[:24] + '...' for token in tokens[:3]]}"
    assert "wrong-" + PASSWORD not in log


async def test_at_the_end_no_service_crashed_and_invariants_hold(
    hostile_platform: RunningPlatform, initial_pids: dict[str, int]
) -> None:
    """After every hostile module: the same service processes (the launcher restarts a crashed one
    under a new pid), nothing stuck, nothing lost, nothing left behind."""
    assert service_pids(hostile_platform.process.pid) == initial_pids
    scope = invariants.Scope(
        aws=hostile_platform.aws,
        db_url=hostile_platform.db_url,
        temp_dir=hostile_platform.temp_dir,
        spool_dir=hostile_platform.spool_dir,
        # Hostile files may be dead-lettered after repeated failures; each must have told its player
        # why (checked below), which is the outcome the rules ask for.
        allow_dlq=True,
    )
    await invariants.settle(scope, 240)
    assert await invariants.check(scope) == []
    assert await invariants.dead_lettered_failures(scope) == []
