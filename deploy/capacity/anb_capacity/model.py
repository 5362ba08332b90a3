"""Discrete-event model of the transcoder group as AWS runs it.

What is modelled (each a parameter, defaults in ``Fleet`` and the policies):
- one job at a time per instance (the transcoder keeps both vCPUs busy), FIFO queue, a freed worker
  takes the next visible message at once (long polling returns as soon as a message arrives);
- CloudWatch: one datapoint per period, sampled at the period's end, visible to alarms
  ``metric_delay_s`` later; alarms need N of N breaching datapoints and, being Auto Scaling actions,
  re-invoke their policy every period while in ALARM;
- launches take ``boot_s`` (boot, bootstrap, warm-up) before the instance counts as in service and polls;
- simple scaling (policy a): one group cooldown, started when the activity completes (launch: instance in
  service; scale-in: instance terminated); nothing happens while it runs;
- target tracking (policy b): scale out when the last ``out_periods`` datapoints exceed the target, to
  ceil(visible / target); scale in when the last ``in_periods`` are below ``in_fraction`` x target,
  down to ceil(visible / target), never while a launched instance is still warming up;
- scale-in protection: a busy instance is never terminated; scale-in takes the newest unprotected
  (idle or still booting) instance, else the busy one that finishes first, which leaves when its job ends.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Fleet:
    service_s: float
    """Wall seconds one instance spends per video (download, transcode, upload)."""
    min_size: int = 1
    max_size: int = 3
    boot_s: float = 180.0
    """Launch to first poll: EC2 boot, bootstrap script, service start (the issue's ~3 minutes)."""
    period_s: float = 60.0
    """CloudWatch period of the SQS metric and of the alarms."""
    metric_delay_s: float = 60.0
    """How long after its period ends a datapoint reaches the alarm."""


@dataclass(frozen=True)
class StepPolicy:
    """Policy (a): +1 when visible > 10 for 3 periods (cooldown 300 s), -1 when < 3 for 5 (600 s)."""

    out_above: float = 10.0
    out_periods: int = 3
    out_cooldown_s: float = 300.0
    in_below: float = 3.0
    in_periods: int = 5
    in_cooldown_s: float = 600.0

    @property
    def name(self) -> str:
        return "(a) step"


@dataclass(frozen=True)
class TargetTrackingPolicy:
    """Policy (b): backlog per in-service instance held at acceptable latency / mean processing time."""

    acceptable_latency_s: float
    mean_processing_s: float
    out_periods: int = 3
    in_periods: int = 15
    in_fraction: float = 0.9

    @property
    def target_backlog(self) -> float:
        return self.acceptable_latency_s / self.mean_processing_s

    @property
    def name(self) -> str:
        return "(b) target tracking"


Policy = StepPolicy | TargetTrackingPolicy


@dataclass(frozen=True)
class Datapoint:
    at: float
    visible: int
    in_service: int


@dataclass(frozen=True)
class Sample:
    """State at one period boundary, for plots."""

    at: float
    visible: int
    running: int
    """Instances launched and not yet terminated (booting ones included: they are billed)."""
    in_service: int


@dataclass(frozen=True)
class Result:
    latencies_s: tuple[float, ...]
    """Upload (message visible) to processed, per job, in completion order."""
    peak_backlog: int
    instance_hours: float
    busy_hours: float
    end_s: float
    timeline: tuple[Sample, ...]

    @property
    def p95_s(self) -> float:
        return percentile(self.latencies_s, 95)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest value with at least pct % of the values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class _Instance:
    launched_at: float
    ready_at: float
    busy_until: float | None = None
    job_arrival: float = 0.0
    retiring: bool = False
    ended_at: float | None = None

    def alive(self) -> bool:
        return self.ended_at is None

    def in_service(self, now: float) -> bool:
        return self.alive() and self.ready_at <= now

    def idle(self, now: float) -> bool:
        return self.in_service(now) and self.busy_until is None and not self.retiring


class _Group:
    """Mutable state of one run; ``simulate`` is the pure entry point."""

    def __init__(self, fleet: Fleet, policy: Policy) -> None:
        self.fleet = fleet
        self.policy = policy
        self.instances = [_Instance(0.0, 0.0) for _ in range(fleet.min_size)]
        self.desired = fleet.min_size
        self.waiting: deque[float] = deque()
        self.latencies: list[float] = []
        self.datapoints: list[Datapoint] = []
        self.timeline: list[Sample] = []
        self.cooldown_until = 0.0
        self.peak_backlog = 0

    # ---- jobs
    def complete(self, now: float) -> None:
        for inst in self.instances:
            if inst.alive() and inst.busy_until == now:
                self.latencies.append(now - inst.job_arrival)
                inst.busy_until = None
                if inst.retiring:
                    inst.ended_at = now

    def dispatch(self, now: float) -> None:
        for inst in self.instances:
            if not self.waiting:
                break
            if inst.idle(now):
                inst.job_arrival = self.waiting.popleft()
                inst.busy_until = now + self.fleet.service_s
        self.peak_backlog = max(self.peak_backlog, len(self.waiting))

    # ---- capacity
    def launch(self, now: float, count: int) -> None:
        for _ in range(count):
            self.instances.append(_Instance(now, now + self.fleet.boot_s))
        self.desired += count

    def retire_one(self, now: float) -> float:
        """Remove one instance as a scale-in does; returns when it is gone."""
        self.desired -= 1
        unprotected = [i for i in self.instances if i.alive() and not i.retiring and i.busy_until is None]
        if unprotected:
            newest = max(unprotected, key=lambda i: i.launched_at)
            newest.ended_at = now
            return now
        busy = [i for i in self.instances if i.alive() and not i.retiring]
        first_free = min(busy, key=lambda i: i.busy_until if i.busy_until is not None else now)
        first_free.retiring = True
        return first_free.busy_until if first_free.busy_until is not None else now

    def warming(self, now: float) -> bool:
        return any(i.alive() and i.ready_at > now for i in self.instances)

    def control(self, now: float) -> None:
        in_service = sum(1 for i in self.instances if i.in_service(now))
        self.datapoints.append(Datapoint(now, len(self.waiting), in_service))
        available = [d for d in self.datapoints if d.at + self.fleet.metric_delay_s <= now]
        if isinstance(self.policy, StepPolicy):
            self._step(now, available, self.policy)
        else:
            self._track(now, available, self.policy)
        running = sum(1 for i in self.instances if i.alive())
        self.timeline.append(Sample(now, len(self.waiting), running, in_service))

    def _step(self, now: float, available: list[Datapoint], policy: StepPolicy) -> None:
        high = available[-policy.out_periods :]
        low = available[-policy.in_periods :]
        if now < self.cooldown_until:
            return
        if len(high) == policy.out_periods and all(d.visible > policy.out_above for d in high):
            if self.desired < self.fleet.max_size:
                self.launch(now, 1)
                self.cooldown_until = now + self.fleet.boot_s + policy.out_cooldown_s
        elif (
            len(low) == policy.in_periods
            and all(d.visible < policy.in_below for d in low)
            and self.desired > self.fleet.min_size
        ):
            gone_at = self.retire_one(now)
            self.cooldown_until = gone_at + policy.in_cooldown_s

    def _track(self, now: float, available: list[Datapoint], policy: TargetTrackingPolicy) -> None:
        target = policy.target_backlog

        def metric(d: Datapoint) -> float | None:
            return d.visible / d.in_service if d.in_service else None

        def wanted(d: Datapoint) -> int:
            return math.ceil(d.visible / target)

        high = available[-policy.out_periods :]
        low = available[-policy.in_periods :]
        if len(high) == policy.out_periods and all((m := metric(d)) is not None and m > target for d in high):
            want = min(self.fleet.max_size, wanted(high[-1]))
            if want > self.desired:
                self.launch(now, want - self.desired)
        elif (
            len(low) == policy.in_periods
            and all((m := metric(d)) is not None and m < policy.in_fraction * target for d in low)
            and not self.warming(now)
        ):
            want = max(self.fleet.min_size, wanted(low[-1]))
            while self.desired > want:
                self.retire_one(now)


def simulate(arrivals: Sequence[float], fleet: Fleet, policy: Policy, horizon_s: float) -> Result:
    """Run the group from ``min_size`` idle instances until ``horizon_s`` and every job is done.

    At equal times the order is: job completions, arrivals, dispatch to free in-service instances,
    then the period's metric sample and scaling decision.
    """
    group = _Group(fleet, policy)
    pending = sorted(arrivals)
    next_arrival = 0
    next_tick = fleet.period_s
    now = 0.0
    while True:
        busy_ends = [i.busy_until for i in group.instances if i.alive() and i.busy_until is not None]
        readies = [i.ready_at for i in group.instances if i.alive() and i.ready_at > now]
        done = next_arrival == len(pending) and not group.waiting and not busy_ends
        if done and next_tick > horizon_s:
            break
        candidates = [next_tick, *busy_ends, *readies]
        if next_arrival < len(pending):
            candidates.append(pending[next_arrival])
        now = min(candidates)
        group.complete(now)
        while next_arrival < len(pending) and pending[next_arrival] <= now:
            group.waiting.append(pending[next_arrival])
            next_arrival += 1
        group.dispatch(now)
        if now == next_tick:
            group.control(now)
            group.dispatch(now)
            next_tick += fleet.period_s
    end = max(horizon_s, now)
    instance_s = sum((i.ended_at if i.ended_at is not None else end) - i.launched_at for i in group.instances)
    return Result(
        latencies_s=tuple(group.latencies),
        peak_backlog=group.peak_backlog,
        instance_hours=instance_s / 3600,
        busy_hours=len(group.latencies) * fleet.service_s / 3600,
        end_s=end,
        timeline=tuple(group.timeline),
    )
