"""Markdown tables of the load-test results, for capacity-planning/results.md (pasted, then explained).

``python -m loadtest.report --workdir .devdata/loadtest [--web-tag T] [--workers-tag T]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def _roles(run: dict[str, Any]) -> str:
    roles = run.get("our_cpu_pct_of_one_core") or {}
    return ", ".join(f"{name} {pct:g}" for name, pct in roles.items() if pct >= 1) or "–"


def web_table(report: dict[str, Any]) -> str:
    header = [
        "scenario", "users", "s", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors %",
        "uploads", "upload p95 ms", "upload errors %", "verdict", "foreign CPU %", "our CPU, % of one core",
        "finished (UTC)",
    ]  # fmt: skip
    rows = [
        [
            run["scenario"],
            run["users"],
            run["seconds"],
            run["requests"],
            run["rps"],
            run["p50_ms"],
            run["p95_ms"],
            run["p99_ms"],
            run["error_pct"],
            run["uploads"],
            run["upload_p95_ms"],
            run.get("upload_error_pct"),
            "pass" if run["passed"] else "FAIL: " + "; ".join(run["reasons"]),
            run.get("foreign_cpu_mean_pct"),
            _roles(run),
            run["finished"][11:19],
        ]
        for run in report["runs"]
    ]
    return _table(header, rows)


def _cpu_per_video(batch: dict[str, Any]) -> float | None:
    """CPU seconds the transcoder processes spent per finished video: the figure other load cannot shrink."""
    pct = (batch.get("our_cpu_pct_of_one_core") or {}).get("transcoder")
    if pct is None or not batch["processed"]:
        return None
    return round(float(pct) / 100 * float(batch["span_s"]) / int(batch["processed"]), 1)


def workers_table(report: dict[str, Any]) -> str:
    header = [
        "clip", "workers", "jobs", "processed", "span s", "videos/min", "mean service s", "max service s",
        "transcoder CPU s/video", "machine CPU %", "foreign CPU %", "our CPU, % of one core",
        "finished (UTC)",
    ]  # fmt: skip
    rows = [
        [
            f"{batch['size_mb']} MB",
            batch["workers"],
            batch["jobs"],
            batch["processed"],
            batch["span_s"],
            batch["videos_per_min"],
            batch["mean_service_s"],
            batch["max_service_s"],
            _cpu_per_video(batch),
            batch.get("cpu_mean_pct"),
            batch.get("foreign_cpu_mean_pct"),
            _roles(batch),
            batch["finished"][11:19],
        ]
        for batch in report["batches"]
    ]
    return _table(header, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path(".devdata/loadtest"))
    parser.add_argument("--web-tag", default="")
    parser.add_argument("--workers-tag", default="")
    args = parser.parse_args()
    for size in (5, 50):
        path = args.workdir / f"web-{size}mb{args.web_tag}.json"
        if path.exists():
            report = json.loads(path.read_text())
            when = f"{report['started']} → {report.get('finished', 'unfinished')}"
            print(f"### Web tier, {size} MB uploads ({when})")
            print(f"`{report['command']}`; machine {report['machine']}; clip {report['clip_bytes']} bytes")
            print(f"search: {report.get('search')}, X = {report.get('x')}\n")
            print(web_table(report) + "\n")
    path = args.workdir / f"workers{args.workers_tag}.json"
    if path.exists():
        report = json.loads(path.read_text())
        print(f"### Worker tier ({report['started']} → {report.get('finished', 'unfinished')})")
        print(f"`{report['command']}`; machine {report['machine']}\n")
        print(workers_table(report))


if __name__ == "__main__":
    main()
