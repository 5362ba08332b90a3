"""One Locust run, headless in its own process, against a platform on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from loadtest import stages
from loadtest.stats import Row, Verdict, evaluate, read_stats

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"


@dataclass(frozen=True)
class Run:
    scenario: str
    users: int
    seconds: float
    prefix: Path
    rows: dict[str, Row]
    verdict: Verdict

    @property
    def aggregate(self) -> Row:
        return self.rows["Aggregated"]

    def summary(self) -> dict[str, object]:
        upload = self.rows.get("/api/videos/upload")
        agg = self.aggregate
        return {
            "scenario": self.scenario,
            "users": self.users,
            "seconds": self.seconds,
            "requests": agg.requests,
            "rps": round(agg.rps, 1),
            "p50_ms": agg.median_ms,
            "p95_ms": agg.p95_ms,
            "p99_ms": agg.p99_ms,
            "error_pct": round(100 * agg.error_rate, 2),
            "uploads": upload.requests if upload else 0,
            "upload_p95_ms": upload.p95_ms if upload else None,
            "upload_error_pct": round(100 * upload.error_rate, 2) if upload else None,
            "passed": self.verdict.passed,
            "reasons": self.verdict.reasons,
            "csv": str(self.prefix),
        }


def run(host: str, data: Path, scenario: str, plan: list[stages.Stage], prefix: Path) -> Run:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "ANB_LT_DATA": str(data),
        stages.ENV: stages.encode(plan),
        # The locustfile imports loadtest.*; Locust itself only puts the locustfile's folder on the path.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    argv = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", host,
        "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip
    with Path(f"{prefix}.log").open("wb") as log:
        # Locust exits 1 whenever any request failed; the verdict comes from its CSV instead.
        subprocess.run(argv, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    rows = read_stats(prefix)
    return Run(
        scenario,
        max(stage.users for stage in plan),
        plan[-1].until_s,
        prefix,
        rows,
        evaluate(rows["Aggregated"]),
    )
