"""One table of the headline benchmark figures against their targets (``make bench`` prints it last).

Reads what each benchmark wrote under bench/results/; a missing file is reported as not run, never
filled in.
"""

from __future__ import annotations

import json
import operator
import sys
from collections.abc import Callable
from pathlib import Path

RESULTS = Path(__file__).parent / "results"

# (result file, key, comparison, target, unit): each target as its issue states it.
TARGETS: list[tuple[str, str, str, float, str]] = [
    ("transcode", "project_over_ffmpeg_cli", "<=", 0.85, "x"),
    ("transcode", "moviepy_over_project", ">=", 5.0, "x"),
    ("transcode", "peak_rss_mb", "<=", 300.0, "MB"),
    ("transcode", "first_job_over_ffmpeg_cli", ">=", 0.0, "x"),
    ("transcode", "derivatives_overhead_pct", "<=", 5.0, "%"),
    ("ingest", "throughput_ratio_100mb", ">=", 0.8, "x"),
    ("ingest", "throughput_ratio_500mb", ">=", 0.8, "x"),
    ("ingest", "rss_growth_mb_500mb", "<=", 64.0, "MB"),
    ("tus", "tus_throughput_ratio_100mb", ">=", 0.75, "x"),
    ("tus", "tus_rss_growth_mb_20_uploads", "<=", 64.0, "MB"),
    ("gateway", "auth_get_over_bare", ">=", 0.5, "x"),
    ("gateway", "rankings_p95_ms", "<=", 20.0, "ms"),
    ("gateway", "rankings_rps_50", ">=", 0.0, "req/s"),
    ("gateway", "gallery_p95_ms", "<=", 50.0, "ms"),
    ("gateway", "proxy_throughput_ratio", ">=", 0.85, "x"),
    ("gateway", "proxy_rss_growth_mb", "<=", 30.0, "MB"),
    ("gateway", "events_fanout_p95_ms", "<=", 1000.0, "ms"),
    ("e2e", "videos_per_min_1_worker", ">=", 0.0, "/min"),
    ("e2e", "videos_per_min_2_workers", ">=", 0.0, "/min"),
    ("e2e", "overhead_pct", "<=", 15.0, "%"),
]

_COMPARE: dict[str, Callable[[float, float], bool]] = {"<=": operator.le, ">=": operator.ge}


def main() -> int:
    rows = [("benchmark", "figure", "measured", "target", "verdict")]
    failed = 0
    for name, key, comparison, target, unit in TARGETS:
        # A zero target marks a figure the issue asks to report, not to meet.
        target_text = "(reported)" if target == 0.0 else f"{comparison} {target:g} {unit}"
        path = RESULTS / f"{name}.json"
        if not path.exists():
            rows.append((name, key, "not run", target_text, "MISSING"))
            failed += 1
            continue
        value = json.loads(path.read_text()).get(key)
        if not isinstance(value, int | float):
            rows.append((name, key, "absent", target_text, "MISSING"))
            failed += 1
            continue
        ok = _COMPARE[comparison](float(value), target)
        failed += not ok
        rows.append((name, key, f"{value:.3g} {unit}", target_text, "ok" if ok else "MISSED"))
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    for index, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  ".join("-" * width for width in widths))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
