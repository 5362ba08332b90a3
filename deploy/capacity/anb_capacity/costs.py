"""What an instance-hour of a t3.medium transcoder costs, burst credits included."""

from __future__ import annotations

from dataclasses import dataclass

from .model import Result


@dataclass(frozen=True)
class Prices:
    """us-east-1 on-demand Linux prices when this was written; check the price list before relying on them."""

    instance_per_hour: float = 0.0416
    """t3.medium on demand."""
    surplus_per_vcpu_hour: float = 0.05
    """T3 unlimited mode: CPU above the earned credits."""
    baseline_vcpus: float = 0.4
    """t3.medium earns 24 credits an hour: 20 % of each of its 2 vCPUs."""
    vcpus_per_job: float = 1.7
    """vCPUs a running job keeps busy: 10.8 CPU-s per 6.3 wall-s in the field notes' PyAV run."""


def cost_usd(result: Result, prices: Prices) -> float:
    """Instance-hours plus the surplus credits the fleet burns beyond its baseline (fleet-wide balance)."""
    used = result.busy_hours * prices.vcpus_per_job
    earned = result.instance_hours * prices.baseline_vcpus
    surplus = max(0.0, used - earned)
    return result.instance_hours * prices.instance_per_hour + surplus * prices.surplus_per_vcpu_hour
