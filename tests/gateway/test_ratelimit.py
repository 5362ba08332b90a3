"""The fixed windows behind login and signup throttling: counting, reopening, giving back, and a table
that stays bounded and costs the same per request however full it is."""

from __future__ import annotations

import pytest

from anb_gateway.ratelimit import FixedWindows

# Each step: (operation, key, now, what it returns). "hit" counts an attempt unless the key is over
# its limit (None = allowed, else the seconds until its window reopens); "retry_after" only asks;
# "refund" gives one attempt back; "count" is the attempts counted in the key's current window.
SCENARIOS = {
    "allows up to the limit, then says when to retry": [
        ("hit", "a", 100.0, None),
        ("hit", "a", 100.0, None),
        ("hit", "a", 110.0, 50),
        ("retry_after", "a", 110.0, 50),
        ("hit", "b", 110.0, None),
        ("retry_after", "b", 110.0, None),
    ],
    "the window reopens by itself": [
        ("hit", "a", 0.0, None),
        ("hit", "a", 0.0, None),
        ("hit", "a", 59.5, 1),
        ("hit", "a", 60.0, None),
        ("count", "a", 60.0, 1),
    ],
    "a refund gives one attempt back, within the window only": [
        ("hit", "a", 0.0, None),
        ("hit", "a", 1.0, None),
        ("refund", "a", 2.0, None),
        ("count", "a", 2.0, 1),
        ("hit", "a", 3.0, None),
        ("hit", "a", 4.0, 56),
        ("refund", "a", 70.0, None),
        ("count", "a", 70.0, 0),
        ("refund", "never-seen", 70.0, None),
        ("count", "never-seen", 70.0, 0),
    ],
    "refusals are not counted": [
        ("hit", "a", 0.0, None),
        ("hit", "a", 0.0, None),
        *[("hit", "a", 1.0, 59)] * 5,
        ("count", "a", 1.0, 2),
    ],
}


@pytest.mark.parametrize("steps", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_scenarios(steps: list[tuple[str, str, float, int | None]]) -> None:
    windows = FixedWindows(limit=2, window_s=60.0, max_keys=100)
    for operation, key, now, expected in steps:
        assert getattr(windows, operation)(key, now) == expected, (operation, key, now)


def test_the_table_never_holds_more_than_max_keys_and_forgets_the_oldest() -> None:
    windows = FixedWindows(limit=1, window_s=60.0, max_keys=3)
    for n, key in enumerate("abcd"):
        assert windows.hit(key, float(n)) is None
    assert len(windows) == 3
    assert windows.count("a", 4.0) == 0  # forgotten: the oldest went when "d" came
    assert windows.hit("b", 4.0) == 57  # the others are still counted


def test_expired_entries_leave_as_new_ones_arrive() -> None:
    windows = FixedWindows(limit=1, window_s=60.0, max_keys=1000)
    for n in range(100):
        windows.hit(f"old-{n}", 0.0)
    for n in range(60):
        windows.hit(f"new-{n}", 100.0)
    # Each call drops up to two expired entries: 120 dropped, the 100 old ones all gone.
    assert len(windows) == 60


def test_a_key_over_its_limit_adds_no_entry() -> None:
    # An address over its limit sending empty or invalid bodies costs one lookup per request, no entry.
    windows = FixedWindows(limit=1, window_s=60.0, max_keys=1000)
    windows.hit("a", 0.0)
    for _ in range(500):
        assert windows.hit("a", 1.0) == 59
    assert len(windows) == 1


class CountingKey(str):
    """A key that counts how often the table hashes keys: a request must not touch other entries."""

    hashed = 0

    def __hash__(self) -> int:
        CountingKey.hashed += 1
        return str.__hash__(self)


def test_a_request_costs_the_same_past_ten_thousand_live_entries() -> None:
    # Before, past 10,000 live entries every request rebuilt the table: 1.2 million hashes here.
    windows = FixedWindows(limit=30, window_s=60.0, max_keys=50_000)
    for n in range(12_000):
        windows.hit(CountingKey(f"10.0.{n // 256}.{n % 256}"), 100.0)
    CountingKey.hashed = 0
    for n in range(100):
        windows.hit(CountingKey(f"10.1.0.{n}"), 101.0)
    # A handful of lookups per request (its own key's), not one per entry of the table.
    assert CountingKey.hashed <= 100 * 10
