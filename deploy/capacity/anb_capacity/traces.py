"""Arrival traces. Seeded, so every run of the planner prints the same figures.

Uploads arrive as a Poisson process whose rate follows the trace's curve (drawn by time rescaling:
unit-exponential gaps laid on the integrated rate), because independent players do not upload on a
metronome; the burst is exactly its count of uploads at uniformly random moments of its window.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

HOUR = 3600.0


@dataclass(frozen=True)
class Trace:
    name: str
    description: str
    arrivals: tuple[float, ...]
    horizon_s: float
    peak_per_hour: float
    """Highest arrival rate of the curve, in uploads an hour."""


def poisson_arrivals(
    rate_per_s: Callable[[float], float], duration_s: float, seed: int, step_s: float = 1.0
) -> tuple[float, ...]:
    rng = random.Random(seed)
    times: list[float] = []
    expected = 0.0
    next_at = rng.expovariate(1.0)
    t = 0.0
    while t < duration_s:
        added = rate_per_s(t) * step_s
        while added > 0 and expected + added >= next_at:
            times.append(t + step_s * (next_at - expected) / added)
            next_at += rng.expovariate(1.0)
        expected += added
        t += step_s
    return tuple(times)


def steady(per_hour: float = 300.0, hours: float = 3.0, seed: int = 1) -> Trace:
    return Trace(
        name="steady",
        description=f"Poisson, {per_hour:g} uploads/h for {hours:g} h",
        arrivals=poisson_arrivals(lambda _t: per_hour / HOUR, hours * HOUR, seed),
        horizon_s=hours * HOUR,
        peak_per_hour=per_hour,
    )


def burst(
    uploads: int = 200, window_s: float = 300.0, start_s: float = 600.0, hours: float = 2.0, seed: int = 2
) -> Trace:
    rng = random.Random(seed)
    return Trace(
        name="burst",
        description=f"{uploads} uploads in {window_s / 60:g} min after {start_s / 60:g} quiet min",
        arrivals=tuple(sorted(rng.uniform(start_s, start_s + window_s) for _ in range(uploads))),
        horizon_s=hours * HOUR,
        peak_per_hour=uploads * HOUR / window_s,
    )


def day(
    peak_per_hour: float = 1200.0, trough_per_hour: float = 60.0, peak_hour: float = 20.0, seed: int = 3
) -> Trace:
    """A cosine day, its trough 12 h away from the evening peak.

    The run starts at the trough, so the group begins in the state a real day leaves it in (at its
    minimum, nearly idle) rather than cold in the middle of the evening.
    """
    mean = (peak_per_hour + trough_per_hour) / 2
    amplitude = (peak_per_hour - trough_per_hour) / 2
    trough_hour = (peak_hour + 12) % 24

    def rate(t: float) -> float:
        clock = trough_hour + t / HOUR
        return (mean + amplitude * math.cos(2 * math.pi * (clock - peak_hour) / 24)) / HOUR

    return Trace(
        name="day",
        description=(
            f"Poisson on a 24 h cosine from the {trough_per_hour:g}/h trough at {trough_hour:02.0f}:00"
            f" to {peak_per_hour:g}/h at {peak_hour:02.0f}:00"
        ),
        arrivals=poisson_arrivals(rate, 24 * HOUR, seed),
        horizon_s=24 * HOUR,
        peak_per_hour=peak_per_hour,
    )
