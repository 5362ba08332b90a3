from __future__ import annotations

import pytest

from loadtest.search import search


@pytest.mark.parametrize(
    ("capacity", "start", "resolution", "ceiling", "tried", "largest_pass"),
    [
        # Doubling 20, 40, 80, 160 (fail) then bisecting 120, 100 (fail) until within 20 users.
        (
            110,
            20,
            20,
            640,
            [(20, True), (40, True), (80, True), (160, False), (120, False), (100, True)],
            100,
        ),
        # Exact answer when the resolution is one user.
        (
            13,
            4,
            1,
            100,
            [(4, True), (8, True), (16, False), (12, True), (14, False), (13, True)],
            13,
        ),
        # Everything passes: stop at the ceiling.
        (10_000, 50, 10, 300, [(50, True), (100, True), (200, True), (300, True)], 300),
        # Even the first X fails: bisect down towards zero (5 is within 5 users of the true 7).
        (7, 40, 5, 640, [(40, False), (20, False), (10, False), (5, True)], 5),
        # Nothing passes at all.
        (0, 8, 2, 640, [(8, False), (4, False), (2, False)], None),
    ],
)
def test_search_finds_the_largest_passing_x(
    capacity: int,
    start: int,
    resolution: int,
    ceiling: int,
    tried: list[tuple[int, bool]],
    largest_pass: int | None,
) -> None:
    state = search(lambda users: users <= capacity, start, resolution, ceiling)
    assert state.tried == tried
    assert state.largest_pass == largest_pass


def test_the_answer_is_bracketed_by_a_pass_and_a_fail_within_the_resolution() -> None:
    for capacity in range(10, 400, 7):

        def passes(users: int, capacity: int = capacity) -> bool:
            return users <= capacity

        state = search(passes, 20, 10, 640)
        assert state.largest_pass is not None
        assert state.smallest_fail is not None
        assert state.largest_pass <= capacity < state.smallest_fail
        assert state.smallest_fail - state.largest_pass <= 10
