"""PNG plots of the load-test results (the JSON and Locust CSVs that loadtest.web/workers wrote).

``python -m loadtest.plots --workdir .devdata/loadtest --out capacity-planning`` writes:
loadtest-search.png (p95 and errors of every X tried), loadtest-ramp-<size>mb.png (users, requests/s
and p95 through the ramp+hold at the largest X that passed and the smallest that failed) and
loadtest-workers.png (videos per minute and mean service time against worker processes).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from loadtest.stats import P95_LIMIT_MS, parse_history


def _load(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.exists() else None


def search_plot(webs: dict[int, dict[str, Any]], out: Path) -> Path:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for size, report in sorted(webs.items()):
        ramps = sorted((run for run in report["runs"] if run["scenario"] == "ramp"), key=lambda r: r["users"])
        users = [run["users"] for run in ramps]
        (line,) = left.plot(users, [run["p95_ms"] for run in ramps], "-", label=f"{size} MB uploads")
        right.plot(users, [run["error_pct"] for run in ramps], "-", color=line.get_color())
        for run in ramps:
            marker = "o" if run["passed"] else "x"
            left.plot(run["users"], run["p95_ms"], marker, color=line.get_color())
            right.plot(run["users"], run["error_pct"], marker, color=line.get_color())
    left.axhline(P95_LIMIT_MS, color="red", linestyle="--", linewidth=1, label="limit 1 s")
    right.axhline(5, color="red", linestyle="--", linewidth=1, label="limit 5 %")
    left.set(xlabel="X (users at the end of the ramp)", ylabel="p95 over the run (ms)", yscale="log")
    right.set(xlabel="X (users at the end of the ramp)", ylabel="failed requests (%)")
    left.set_title("Ramp+hold runs of the X search (o pass, x fail)", fontsize=10)
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    fig.tight_layout()
    path = out / "loadtest-search.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ramp_plot(size: int, report: dict[str, Any], out: Path) -> Path | None:
    ramps = [run for run in report["runs"] if run["scenario"] == "ramp"]
    passed = [run for run in ramps if run["passed"]]
    failed = [run for run in ramps if not run["passed"]]
    chosen = [("largest pass", max(passed, key=lambda r: r["users"])) if passed else None]
    chosen.append(("smallest fail", min(failed, key=lambda r: r["users"])) if failed else None)
    picked = [item for item in chosen if item is not None]
    if not picked:
        return None
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True)
    twin = top.twinx()
    for (label, run), style in zip(picked, ("-", "--"), strict=False):
        samples = parse_history(Path(f"{run['csv']}_stats_history.csv").read_text())
        if not samples:
            continue
        t0 = samples[0].timestamp
        seconds = [s.timestamp - t0 for s in samples]
        name = f"{label}: X={run['users']}"
        top.plot(seconds, [s.users for s in samples], style, color="tab:blue", label=f"users ({name})")
        twin.plot(seconds, [s.rps for s in samples], style, color="tab:green", label=f"req/s ({name})")
        bottom.plot(seconds, [s.p95_ms for s in samples], style, color="tab:orange", label=name)
    bottom.axhline(P95_LIMIT_MS, color="red", linestyle=":", linewidth=1, label="limit 1 s")
    top.set(ylabel="users")
    twin.set(ylabel="requests/s")
    bottom.set(xlabel="seconds since start", ylabel="p95 since the start (ms)", yscale="log")
    top.set_title(f"Web tier, {size} MB uploads: ramp then hold", fontsize=10)
    top.legend(loc="upper left", fontsize=7)
    twin.legend(loc="lower right", fontsize=7)
    bottom.legend(fontsize=7)
    fig.tight_layout()
    path = out / f"loadtest-ramp-{size}mb.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def workers_plot(report: dict[str, Any], out: Path) -> Path:
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    sizes = sorted({batch["size_mb"] for batch in report["batches"]})
    for size in sizes:
        rows = sorted((b for b in report["batches"] if b["size_mb"] == size), key=lambda b: b["workers"])
        workers = [row["workers"] for row in rows]
        cpu_per_video = [
            row["our_cpu_pct_of_one_core"].get("transcoder", 0) / 100 * row["span_s"] / row["processed"]
            for row in rows
        ]
        for axis, values in zip(
            axes,
            ([r["videos_per_min"] for r in rows], [r["mean_service_s"] for r in rows], cpu_per_video),
            strict=True,
        ):
            axis.plot(workers, values, "o-", label=f"{size} MB clips")
        # Other people's CPU use during each batch, which moves the first two panels and not the third.
        for row, value in zip(rows, (r["videos_per_min"] for r in rows), strict=True):
            axes[0].annotate(f"{row['foreign_cpu_mean_pct']:.0f}%", (row["workers"], value), fontsize=7,
                             textcoords="offset points", xytext=(4, 4))  # fmt: skip
    for axis in axes:
        axis.set_xticks([1, 2, 4])
        axis.set_xlabel("transcoder processes (2 cores)")
        axis.legend(fontsize=8)
    axes[0].set(ylabel="videos per minute")
    axes[0].set_title("labels: foreign CPU % during the batch", fontsize=9)
    axes[1].set(ylabel="mean service time per video (s)")
    axes[2].set(ylabel="transcoder CPU seconds per video", ylim=(0, None))
    fig.suptitle("Worker tier: queue pre-filled, N jobs per batch", fontsize=10)
    fig.tight_layout()
    path = out / "loadtest-workers.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, default=Path(".devdata/loadtest"))
    parser.add_argument("--out", type=Path, default=Path("capacity-planning"))
    parser.add_argument("--web-tag", default="", help="suffix of the web-<size>mb<tag>.json files to plot")
    parser.add_argument("--workers-tag", default="")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    webs = {
        size: report
        for size in (5, 50)
        if (report := _load(args.workdir / f"web-{size}mb{args.web_tag}.json")) is not None
    }
    written: list[Path | None] = []
    if webs:
        written.append(search_plot(webs, args.out))
        written.extend(ramp_plot(size, report, args.out) for size, report in webs.items())
    workers = _load(args.workdir / f"workers{args.workers_tag}.json")
    if workers is not None:
        written.append(workers_plot(workers, args.out))
    for path in written:
        if path is not None:
            print(path)


if __name__ == "__main__":
    main()
