"""Failed logins per account: locked after the limit for the addresses that failed, never for a clean
address (the player's own), lifting by itself; tables for the logic, then the real gateway."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from anb_gateway import wording
from anb_gateway.login_attempts import LoginAttempts
from gateway.conftest import PASSWORD, Gateway, Player, own_gateway, sign_up

EMAIL = "ana@example.com"
ATTACKER, PLAYER, OTHER = "203.0.113.7", "198.51.100.20", "192.0.2.99"

# Each step: (operation, email, address, now, what it returns). "begin" is a login about to be checked
# (None = go ahead, else the seconds until it may try again; counted as a failure unless refunded);
# "refund" is a right password (or an attempt that ended without a verdict).
FAILURES_THEN = {
    "the account is refused to the address that failed, with the time left": [
        ("begin", EMAIL, ATTACKER, 10.0, 890),
    ],
    "a clean address still gets in (the player is not locked out) and is refunded on success": [
        ("begin", EMAIL, PLAYER, 10.0, None),
        ("refund", EMAIL, PLAYER, 10.0, None),
        ("begin", EMAIL, PLAYER, 11.0, None),
        ("refund", EMAIL, PLAYER, 11.0, None),
    ],
    "a clean address that fails once is refused like the rest": [
        ("begin", EMAIL, OTHER, 10.0, None),
        ("begin", EMAIL, OTHER, 11.0, 889),
    ],
    "the lock lifts by itself when the window ends": [
        ("begin", EMAIL, ATTACKER, 899.0, 1),
        ("begin", EMAIL, ATTACKER, 900.0, None),
    ],
    "other accounts are untouched, and the address is judged per account": [
        ("begin", "luis@example.com", ATTACKER, 10.0, None),
    ],
    "the email is matched as the unique index matches it": [
        ("begin", " ANA@Example.COM ", ATTACKER, 10.0, 890),
    ],
}


@pytest.mark.parametrize("steps", FAILURES_THEN.values(), ids=FAILURES_THEN.keys())
def test_after_ten_failures_from_one_address(steps: list[tuple[str, str, str, float, int | None]]) -> None:
    attempts = LoginAttempts(failures=10, window_s=900.0, max_keys=1000)
    for _ in range(10):
        assert attempts.begin(EMAIL, ATTACKER, 0.0) is None
    for operation, email, address, now, expected in steps:
        assert getattr(attempts, operation)(email, address, now) == expected, (operation, address, now)


def test_failures_spread_over_many_addresses_lock_only_those_addresses() -> None:
    attempts = LoginAttempts(failures=10, window_s=900.0, max_keys=1000)
    for n in range(10):
        assert attempts.begin(EMAIL, f"10.0.0.{n}", 0.0) is None
    assert attempts.begin(EMAIL, "10.0.0.3", 1.0) == 899
    assert attempts.begin(EMAIL, PLAYER, 1.0) is None


def test_right_passwords_are_no_failures() -> None:
    attempts = LoginAttempts(failures=3, window_s=900.0, max_keys=1000)
    for _ in range(20):
        assert attempts.begin(EMAIL, PLAYER, 0.0) is None
        attempts.refund(EMAIL, PLAYER, 0.0)
    assert attempts.begin(EMAIL, PLAYER, 0.0) is None


def test_concurrent_attempts_are_counted_before_their_verdict() -> None:
    # Ten guesses in flight at once from an address get no more than the limit checked.
    attempts = LoginAttempts(failures=3, window_s=900.0, max_keys=1000)
    verdicts = [attempts.begin(EMAIL, ATTACKER, 0.0) for _ in range(10)]
    assert verdicts[:3] == [None, None, None]
    assert all(verdict == 900 for verdict in verdicts[3:])


# --- Through the real gateway -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_lock_gateway(gateway_env: dict[str, str], session_tmp: Path) -> Iterator[Gateway]:
    """Three failed logins per account in a 3 s window, so that the lock is seen to lift."""
    env = {**gateway_env, "ANB_AUTH_ACCOUNT_FAILURES": "3", "ANB_AUTH_ACCOUNT_WINDOW_S": "3"}
    with own_gateway(env, session_tmp / "gateway-short-lock.log") as started:
        yield started


def _client(gateway: Gateway, address: str) -> httpx.AsyncClient:
    # Linux routes all of 127.0.0.0/8 to the loopback: each source address is another client.
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=gateway.url, transport=transport, timeout=60)


async def test_an_account_under_attack_answers_429_to_the_attacker_and_200_to_its_player(
    short_lock_gateway: Gateway, api: httpx.AsyncClient
) -> None:
    player: Player = await sign_up(api, "Eva", "Ríos", "Cali")
    wrong = {"email": player.email, "password": "no-es-la-clave"}
    right = {"email": player.email, "password": PASSWORD}
    async with (
        _client(short_lock_gateway, "127.0.0.2") as attacker,
        _client(short_lock_gateway, "127.0.0.3") as own,
    ):
        for _ in range(3):
            assert (await attacker.post("/api/auth/login", json=wrong)).status_code == 401
        locked = await attacker.post("/api/auth/login", json=right)
        assert locked.status_code == 429
        retry_after = int(locked.headers["retry-after"])
        assert 1 <= retry_after <= 3
        assert locked.json() == {"status_code": 429, "detail": wording.too_many_for_account(retry_after)}
        # The player's own address has no failures: the right password still logs in.
        assert (await own.post("/api/auth/login", json=right)).status_code == 200
        # And the lock lifts by itself (polled: a slow machine only makes this take longer).
        deadline = time.monotonic() + 120
        while (lifted := await attacker.post("/api/auth/login", json=right)).status_code == 429:
            assert time.monotonic() < deadline, "the account lock never lifted"
            await asyncio.sleep(0.2)
        assert lifted.status_code == 200
