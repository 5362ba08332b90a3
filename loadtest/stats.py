"""Locust's CSV output read back, and the course's pass rule applied to it."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

# The course's acceptance criteria for the web tier.
P95_LIMIT_MS = 1000.0
ERROR_LIMIT = 0.05


@dataclass(frozen=True)
class Row:
    """One line of ``<prefix>_stats.csv``: one endpoint, or ``Aggregated`` for all of them."""

    name: str
    requests: int
    failures: int
    median_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    rps: float

    @property
    def error_rate(self) -> float:
        return self.failures / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reasons: list[str]


def _number(text: str) -> float:
    # Locust writes "N/A" for percentiles of an endpoint that saw no request.
    try:
        return float(text)
    except ValueError:
        return 0.0


def parse_stats(text: str) -> dict[str, Row]:
    """Rows by endpoint name (``Aggregated`` included) from the text of ``<prefix>_stats.csv``."""
    rows: dict[str, Row] = {}
    for record in csv.DictReader(text.splitlines()):
        name = record["Name"]
        rows[name] = Row(
            name=name,
            requests=int(record["Request Count"]),
            failures=int(record["Failure Count"]),
            median_ms=_number(record["50%"]),
            p95_ms=_number(record["95%"]),
            p99_ms=_number(record["99%"]),
            max_ms=_number(record["Max Response Time"]),
            rps=_number(record["Requests/s"]),
        )
    return rows


def read_stats(prefix: Path) -> dict[str, Row]:
    return parse_stats(Path(f"{prefix}_stats.csv").read_text())


def evaluate(aggregate: Row, p95_limit_ms: float = P95_LIMIT_MS, error_limit: float = ERROR_LIMIT) -> Verdict:
    """Pass when p95 <= 1 s and errors <= 5 % over every request of the run; no request is a fail."""
    reasons: list[str] = []
    if aggregate.requests == 0:
        reasons.append("no request completed")
    if aggregate.p95_ms > p95_limit_ms:
        reasons.append(f"p95 {aggregate.p95_ms:.0f} ms > {p95_limit_ms:.0f} ms")
    if aggregate.error_rate > error_limit:
        reasons.append(f"errors {aggregate.error_rate:.1%} > {error_limit:.0%}")
    return Verdict(not reasons, reasons)


@dataclass(frozen=True)
class Sample:
    """One second of ``<prefix>_stats_history.csv`` (the Aggregated line).

    Without ``--csv-full-history`` Locust writes the percentiles there cumulatively, since the start.
    """

    timestamp: int
    users: int
    rps: float
    failures_per_s: float
    p95_ms: float


def parse_history(text: str) -> list[Sample]:
    samples: list[Sample] = []
    for record in csv.DictReader(text.splitlines()):
        if record["Name"] != "Aggregated":
            continue
        samples.append(
            Sample(
                timestamp=int(record["Timestamp"]),
                users=int(record["User Count"]),
                rps=_number(record["Requests/s"]),
                failures_per_s=_number(record["Failures/s"]),
                p95_ms=_number(record["95%"]),
            )
        )
    return samples
