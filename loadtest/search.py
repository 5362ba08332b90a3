"""The search for the largest user count X that still passes: double until a fail, then bisect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Search:
    largest_pass: int | None = None
    smallest_fail: int | None = None
    tried: list[tuple[int, bool]] = field(default_factory=list)


def next_candidate(state: Search, start: int, resolution: int, ceiling: int) -> int | None:
    """The next X to try, or None when the answer is known to within ``resolution`` users.

    Passing load is doubled (capped at ``ceiling``) until something fails; then the gap between the
    largest pass and the smallest fail is halved. A fail at ``start`` bisects down towards 1.
    """
    low, high = state.largest_pass, state.smallest_fail
    if high is None:
        if low is None:
            return start
        return None if low >= ceiling else min(low * 2, ceiling)
    floor = low or 0
    if high - floor <= resolution:
        return None
    return (floor + high) // 2 or None


def record(state: Search, users: int, passed: bool) -> None:
    state.tried.append((users, passed))
    if passed:
        state.largest_pass = max(users, state.largest_pass or 0)
    else:
        state.smallest_fail = min(users, state.smallest_fail or users)


def search(passes: Callable[[int], bool], start: int, resolution: int, ceiling: int) -> Search:
    state = Search()
    while (users := next_candidate(state, start, resolution, ceiling)) is not None:
        record(state, users, passes(users))
    return state
