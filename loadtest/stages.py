"""The course's scenarios as Locust load-shape stages, passed to the locustfile in one env variable."""

from __future__ import annotations

from dataclasses import dataclass

ENV = "ANB_LT_STAGES"


@dataclass(frozen=True)
class Stage:
    until_s: float
    """Seconds from the start of the run at which this stage ends."""
    users: int
    spawn_rate: float
    """Users started (or stopped) per second until ``users`` is reached."""


def smoke(users: int, seconds: float) -> list[Stage]:
    return [Stage(seconds, users, float(users))]


def ramp_hold(users: int, ramp_s: float, hold_s: float) -> list[Stage]:
    """0 -> users spread evenly over ``ramp_s``, then ``users`` for ``hold_s``."""
    return [Stage(ramp_s + hold_s, users, users / ramp_s)]


def sustained(users: int, seconds: float) -> list[Stage]:
    # Start everyone within ~10 s: the scenario is about holding the load, not reaching it.
    return [Stage(seconds, users, max(1.0, users / 10))]


def encode(stages: list[Stage]) -> str:
    return ";".join(f"{stage.until_s:g},{stage.users},{stage.spawn_rate:g}" for stage in stages)


def decode(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for part in filter(None, text.split(";")):
        until, users, rate = part.split(",")
        stages.append(Stage(float(until), int(users), float(rate)))
    return stages


def at(stages: list[Stage], elapsed_s: float) -> tuple[int, float] | None:
    """(users, spawn rate) Locust should aim for ``elapsed_s`` into the run; None once it is over."""
    for stage in stages:
        if elapsed_s < stage.until_s:
            return stage.users, stage.spawn_rate
    return None
