"""The capacity planner reproduces hand-computed small cases exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from anb_capacity.__main__ import FALLBACK_TRANSCODE_S, transcode_seconds
from anb_capacity.costs import Prices, cost_usd
from anb_capacity.model import Fleet, Result, StepPolicy, TargetTrackingPolicy, percentile, simulate
from anb_capacity.report import instances_for, sustained_per_hour
from anb_capacity.traces import burst, day, poisson_arrivals, steady

# Five uploads at t = 0..4 s, 100 s per job, one instance in service, room for a second that takes 180 s
# to boot, datapoints reaching the alarms at once (no delay), thresholds small enough to act.
ARRIVALS = [0.0, 1.0, 2.0, 3.0, 4.0]
FLEET = Fleet(service_s=100.0, min_size=1, max_size=2, boot_s=180.0, period_s=60.0, metric_delay_s=0.0)


def test_step_policy_hand_computed_case() -> None:
    # By hand: instance 0 runs jobs 0,1,2 (0-100, 100-200, 200-300), then job 4 (300-400).
    # t=60: 4 visible > 2 for 1 period -> +1; instance 1 in service at 240, cooldown until 240 + 300 = 540.
    # t=240: instance 1 takes job 3 (240-340). Latencies 100, 199, 298, 337, 396.
    # t=300, 360: 0 visible < 1 for 2 periods -> scale-in wanted from 360 but the cooldown holds it until
    # t=540, when instance 1 (newest, idle) is terminated: it ran 540 - 60 = 480 s; instance 0 ran 600 s.
    policy = StepPolicy(
        out_above=2, out_periods=1, out_cooldown_s=300, in_below=1, in_periods=2, in_cooldown_s=600
    )
    result = simulate(ARRIVALS, FLEET, policy, horizon_s=600.0)
    assert result.latencies_s == (100.0, 199.0, 298.0, 337.0, 396.0)
    assert result.peak_backlog == 4
    assert result.instance_hours * 3600 == 1080.0
    assert result.p95_s == 396.0
    assert result.busy_hours * 3600 == 500.0
    assert [(s.at, s.visible, s.running, s.in_service) for s in result.timeline] == [
        (60.0, 4, 2, 1),
        (120.0, 3, 2, 1),
        (180.0, 3, 2, 1),
        (240.0, 1, 2, 2),
        (300.0, 0, 2, 2),
        (360.0, 0, 2, 2),
        (420.0, 0, 2, 2),
        (480.0, 0, 2, 2),
        (540.0, 0, 1, 2),
        (600.0, 0, 1, 1),
    ]


def test_target_tracking_hand_computed_case() -> None:
    # Target backlog per instance = 100 s / 100 s = 1. t=60: 4 visible / 1 in service > 1 -> ceil(4 / 1) = 4,
    # capped at 2: one launch, in service at 240. Same schedule of jobs as above.
    # t=300: datapoints 240 (1/2 = 0.5) and 300 (0/2 = 0) are below 0.9 -> want max(1, ceil(0)) = 1.
    # Both instances are busy (instance 0 took job 4 at 300, instance 1 runs job 3 until 340), so the one
    # that finishes first, instance 1, leaves at 340: 340 - 60 = 280 s; instance 0: 600 s.
    policy = TargetTrackingPolicy(
        acceptable_latency_s=100.0, mean_processing_s=100.0, out_periods=1, in_periods=2
    )
    result = simulate(ARRIVALS, FLEET, policy, horizon_s=600.0)
    assert result.latencies_s == (100.0, 199.0, 298.0, 337.0, 396.0)
    assert result.peak_backlog == 4
    assert result.instance_hours * 3600 == 880.0
    assert [s.running for s in result.timeline] == [2, 2, 2, 2, 2, 1, 1, 1, 1, 1]


def test_step_policy_waits_for_the_metric_delay_and_all_periods() -> None:
    # With the defaults (3 periods above 10, datapoints 60 s late) a backlog that appears at t=0 is acted
    # on at t=240: datapoints 60, 120, 180 are all visible to the alarm only then.
    fleet = Fleet(service_s=1000.0, max_size=2)
    result = simulate([0.0] * 20, fleet, StepPolicy(), horizon_s=300.0)
    assert [s.running for s in result.timeline[:5]] == [1, 1, 1, 2, 2]


def test_cost_counts_instance_hours_and_surplus_cpu() -> None:
    # 10 instance-hours earn 4 vCPU-hours of credits; 5 busy hours at 1.7 vCPUs use 8.5: 4.5 surplus.
    result = Result(
        latencies_s=(), peak_backlog=0, instance_hours=10.0, busy_hours=5.0, end_s=0.0, timeline=()
    )
    prices = Prices(instance_per_hour=0.04, surplus_per_vcpu_hour=0.05, baseline_vcpus=0.4, vcpus_per_job=1.7)
    assert cost_usd(result, prices) == pytest.approx(10 * 0.04 + 4.5 * 0.05)


def test_percentile_is_nearest_rank() -> None:
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 95) == 5.0
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 50) == 3.0
    assert percentile(list(map(float, range(1, 101))), 95) == 95.0
    assert percentile([], 95) == 0.0


def test_traces_are_reproducible_and_shaped_as_named() -> None:
    burst_trace = burst()
    assert len(burst_trace.arrivals) == 200
    assert 600.0 <= min(burst_trace.arrivals) <= max(burst_trace.arrivals) < 900.0
    assert steady().arrivals == steady().arrivals
    day_trace = day()
    # The run starts at the 08:00 trough: 19:00-21:00 is hours 11-13, 07:00-09:00 is the first and last hour.
    evening = sum(1 for t in day_trace.arrivals if 11 * 3600 <= t < 13 * 3600)
    morning = sum(1 for t in day_trace.arrivals if t < 3600 or t >= 23 * 3600)
    assert evening > 10 * morning
    assert 14_000 < len(day_trace.arrivals) < 16_000
    constant = poisson_arrivals(lambda _t: 0.5, 10_000.0, seed=7)
    assert 4700 < len(constant) < 5300


def test_transcode_time_comes_from_the_bench_when_it_exists(tmp_path: Path) -> None:
    bench = tmp_path / "transcode.json"
    assert transcode_seconds(bench, None)[0] == FALLBACK_TRANSCODE_S
    bench.write_text(json.dumps({"project_s": 5.25, "ffmpeg_s": 6.9}))
    assert transcode_seconds(bench, None)[0] == 5.25
    assert transcode_seconds(bench, 9.0)[0] == 9.0


def test_group_capacity_and_instances_a_rate_needs() -> None:
    # 3 instances at 24 s per job finish 3 * 3600 / 24 = 450 an hour; 1200/h at 24 s is 8 busy instances,
    # 10 at 80 % utilisation.
    fleet = Fleet(service_s=24.0, max_size=3)
    assert sustained_per_hour(fleet) == 450.0
    assert instances_for(1200.0, 24.0) == 10
    assert burst().peak_per_hour == 2400.0
    assert day().peak_per_hour == 1200.0
