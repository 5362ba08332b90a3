"""Login time does not tell a known email from an unknown one: both cost one Argon2id hash at the same
parameters (an unknown email is checked against a decoy hash).

Compared as distributions measured in the same run, interleaved, on the real gateway; no threshold
on this machine's speed. A positive control shows the comparison would see a login that skips the
hash: a refusal answered before any hashing is far faster than either.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.conftest import Gateway, Player, own_gateway, sign_up

SAMPLES = 40


@pytest.fixture(scope="module")
def timed_gateway(gateway_env: dict[str, str], session_tmp: Path) -> Iterator[Gateway]:
    # Many failures on one account by design: the per-account limit would refuse them before hashing.
    env = {**gateway_env, "ANB_AUTH_ACCOUNT_FAILURES": "100000"}
    with own_gateway(env, session_tmp / "gateway-timed.log") as started:
        yield started


async def _elapsed(client: httpx.AsyncClient, body: dict[str, str], status: int) -> float:
    start = time.perf_counter()
    response = await client.post("/api/auth/login", json=body)
    elapsed = time.perf_counter() - start
    assert response.status_code == status, response.text
    return elapsed


async def test_known_and_unknown_emails_take_the_same_time(
    timed_gateway: Gateway, api: httpx.AsyncClient
) -> None:
    player: Player = await sign_up(api, "Tomás", "Rey", "Manizales")
    known = {"email": player.email, "password": "no-es-la-clave"}
    refused_early = {"email": player.email, "password": ""}  # 400 from validation: no hash at all
    timings: dict[str, list[float]] = {"known": [], "unknown": [], "control": []}
    async with httpx.AsyncClient(base_url=timed_gateway.url, timeout=60) as client:
        for _ in range(3):  # warm-up: connections, caches, the first hash
            await _elapsed(client, known, 401)
        for _ in range(SAMPLES):
            # Interleaved, so that whatever else the machine does weighs on both alike.
            unknown = {"email": f"nadie.{uuid.uuid4().hex[:12]}@example.com", "password": "no-es-la-clave"}
            timings["known"].append(await _elapsed(client, known, 401))
            timings["unknown"].append(await _elapsed(client, unknown, 401))
            timings["control"].append(await _elapsed(client, refused_early, 400))
    known_median = statistics.median(timings["known"])
    unknown_median = statistics.median(timings["unknown"])
    control_median = statistics.median(timings["control"])
    assert abs(known_median - unknown_median) <= 0.2 * max(known_median, unknown_median), timings
    # The control: a login that skips the hash is told apart by this very comparison.
    assert control_median < 0.8 * min(known_median, unknown_median), timings
