from __future__ import annotations

import pytest

from loadtest import stages
from loadtest.stages import Stage


def test_ramp_hold_spreads_users_over_the_ramp_then_holds() -> None:
    [stage] = stages.ramp_hold(300, ramp_s=180, hold_s=300)
    assert (stage.until_s, stage.users) == (480, 300)
    assert stage.spawn_rate == pytest.approx(300 / 180)


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [(0.0, (5, 5.0)), (59.9, (5, 5.0)), (60.0, None)],
)
def test_smoke_runs_five_users_for_its_duration(elapsed: float, expected: tuple[int, float] | None) -> None:
    assert stages.at(stages.smoke(5, 60), elapsed) == expected


def test_sustained_starts_everyone_within_about_ten_seconds() -> None:
    assert stages.sustained(240, 300) == [Stage(300, 240, 24.0)]
    assert stages.sustained(4, 300) == [Stage(300, 4, 1.0)]


def test_encode_decode_round_trip() -> None:
    plan = [Stage(30, 5, 5.0), Stage(90.5, 120, 0.6666)]
    assert stages.decode(stages.encode(plan)) == plan
    assert stages.decode("") == []


def test_later_stages_take_over_when_earlier_ones_end() -> None:
    plan = [Stage(10, 5, 5.0), Stage(20, 50, 10.0)]
    assert [stages.at(plan, t) for t in (0, 9.99, 10, 19.99, 20)] == [
        (5, 5.0),
        (5, 5.0),
        (50, 10.0),
        (50, 10.0),
        None,
    ]
