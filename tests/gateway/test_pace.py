"""The slowest upload body the gateway waits for: the credit arithmetic as a table, then bodies that
keep the pace, stall, or trickle."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from anb_gateway.pace import Pace, TooSlow

PACE = Pace(min_rate=1000.0, stall_s=2.0)

# (credit before, seconds waited for the chunk, bytes in it, credit after)
CREDITS = [
    (2.0, 0.0, 0, 2.0),  # an empty chunk at once: nothing earned, nothing spent
    (2.0, 1.0, 1000, 2.0),  # exactly at the pace: the credit holds
    (2.0, 1.0, 500, 1.5),  # half the pace: half a second lost per second
    (1.0, 0.5, 0, 0.5),
    (2.0, 0.0, 10_000_000, 2.0),  # fast: never more than the stall allowance banked
    (0.5, 0.4, 1, 0.101),
]


@pytest.mark.parametrize(("credit", "waited_s", "received", "after"), CREDITS)
def test_credit(credit: float, waited_s: float, received: int, after: float) -> None:
    assert PACE.credit(credit, waited_s, received) == pytest.approx(after)


async def _chunks(gaps_s: list[float], size: int) -> AsyncIterator[bytes]:
    for gap in gaps_s:
        await asyncio.sleep(gap)
        yield b"x" * size


async def _read(pace: Pace, body: AsyncIterator[bytes]) -> int:
    return sum([len(chunk) async for chunk in pace.paced(body)])


async def test_a_body_sent_at_once_passes_whole() -> None:
    assert await _read(PACE, _chunks([0.0] * 50, 65536)) == 50 * 65536


async def test_a_stall_within_the_allowance_passes() -> None:
    pace = Pace(min_rate=1000.0, stall_s=5.0)
    assert await _read(pace, _chunks([0.0, 0.3, 0.0], 10)) == 30


async def test_a_stall_past_the_allowance_is_too_slow() -> None:
    pace = Pace(min_rate=1000.0, stall_s=0.2)
    with pytest.raises(TooSlow):
        await asyncio.wait_for(_read(pace, _chunks([0.0, 60.0], 10)), 30)


async def test_a_trickle_below_the_pace_is_too_slow_though_it_never_stalls_long() -> None:
    # One byte every 0.05 s is 20 bytes/s against 1000: each gap is well within the allowance,
    # but the lag adds up until it passes it.
    pace = Pace(min_rate=1000.0, stall_s=0.3)
    with pytest.raises(TooSlow):
        await asyncio.wait_for(_read(pace, _chunks([0.05] * 10_000, 1)), 60)
