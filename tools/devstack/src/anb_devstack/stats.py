"""``make stats``: the ANB/Video figures the services sent to CloudWatch, read back from it.

``make run`` has the services publish to its moto (as the deployment has them publish to CloudWatch),
so these are the figures an operator reads on the dashboard, by the same names and dimensions; the
e2e tests read them the same way. moto matches a query's dimensions as a subset (CloudWatch matches
the exact set), so a total is moto's answer less its breakdowns.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from anb_common.aws import Aws
from anb_common.metrics import NAMESPACE
from anb_common.settings import AwsSettings


@dataclass(frozen=True)
class Figure:
    metric: str
    dimensions: tuple[tuple[str, str], ...]
    unit: str
    count: float
    total: float
    maximum: float | None
    """None for a total whose breakdowns moto folds in (see the module)."""

    @property
    def average(self) -> float:
        return self.total / self.count if self.count else 0.0


async def read_figures(aws: Aws, since: datetime) -> list[Figure]:
    """Every ANB/Video metric and dimension set published since ``since``, over that whole time."""
    end = datetime.now(UTC) + timedelta(minutes=1)
    # moto and CloudWatch both want the period as a multiple of 60 s.
    period = max(60, int((end - since).total_seconds()) // 60 * 60 + 60)
    figures: list[Figure] = []
    async with aws.cloudwatch() as cloudwatch:
        listed = (await cloudwatch.list_metrics(Namespace=NAMESPACE))["Metrics"]
        series = sorted(
            {
                (m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m.get("Dimensions", []))))
                for m in listed
            }
        )
        for name, dimensions in series:
            answer = await cloudwatch.get_metric_statistics(
                Namespace=NAMESPACE,
                MetricName=name,
                Dimensions=[{"Name": key, "Value": value} for key, value in dimensions],
                StartTime=since,
                EndTime=end,
                Period=period,
                Statistics=["SampleCount", "Sum", "Maximum"],
            )
            points = answer["Datapoints"]
            if points:
                figures.append(
                    Figure(
                        name,
                        dimensions,
                        str(points[0].get("Unit", "")),
                        sum(p["SampleCount"] for p in points),
                        sum(p["Sum"] for p in points),
                        max(p["Maximum"] for p in points),
                    )
                )
    return _exact_totals(figures)


def _exact_totals(figures: list[Figure]) -> list[Figure]:
    exact = []
    for figure in figures:
        breakdowns = [f for f in figures if f.metric == figure.metric and f.dimensions]
        if figure.dimensions or not breakdowns:
            exact.append(figure)
            continue
        # The contract's breakdowns are one dimension set each: each observation is in them once more.
        folded_count = sum(f.count for f in breakdowns)
        folded_total = sum(f.total for f in breakdowns)
        count, total = figure.count - folded_count, figure.total - folded_total
        exact.append(Figure(figure.metric, (), figure.unit, count, total, None))
    return exact


def render(figures: list[Figure]) -> str:
    head = f"{'metric':<18} {'dimensions':<26} {'unit':<13} {'count':>7} {'sum':>12} {'avg':>10} {'max':>10}"
    lines = [head]
    for f in figures:
        dims = ",".join(f"{k}={v}" for k, v in f.dimensions) or "(total)"
        maximum = "" if f.maximum is None else f"{f.maximum:,.3f}"
        figures_ = f"{f.count:>7.0f} {f.total:>12,.3f} {f.average:>10,.3f} {maximum:>10}"
        lines.append(f"{f.metric:<18} {dims:<26} {f.unit:<13} {figures_}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="Print the ANB/Video figures make run's services sent.")
    parser.add_argument("--moto-port", type=int, default=5000, help="moto of the make run to read")
    parser.add_argument("--minutes", type=int, default=60, help="how far back to read")
    args = parser.parse_args()
    aws = Aws(AwsSettings(endpoint_url=f"http://127.0.0.1:{args.moto_port}"))
    since = datetime.now(UTC) - timedelta(minutes=args.minutes)
    figures = asyncio.run(read_figures(aws, since))
    print(render(figures) if figures else f"no figures in the last {args.minutes} minutes")


if __name__ == "__main__":
    main()
