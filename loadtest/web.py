"""Web tier: smoke, ramp+hold and sustained Locust runs against a platform with no transcoder running.

The queue fills (every 202 upload leaves its job there) but no worker takes it, as the course's mock
queue. ``--users X`` runs the scenarios at X; without it, X is searched (``loadtest.search``) with the
ramp+hold scenario, and the sustained scenario then runs at 80 % of the largest X that passed.
Results: ``<workdir>/web-<size>mb.json`` plus Locust's CSVs beside it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from anb_common.aws import Aws
from anb_common.settings import AwsSettings
from anb_devstack import running
from loadtest import clips, locust_run, machine, ready, search, seed, stages

# The login/signup limit is per client address, and every simulated player comes from 127.0.0.1.
_ENV = {"ANB_AUTH_RATE_LIMIT_PER_MINUTE": "1000000"}


async def _clear_uploads(aws: AwsSettings) -> None:
    """Drop the originals uploaded by the previous run: moto keeps objects in RAM, 50 MB each."""
    async with Aws(aws).s3() as s3:
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=aws.bucket, Prefix="uploads/")
        async for page in pages:
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                await s3.delete_objects(Bucket=aws.bucket, Delete={"Objects": keys})  # type: ignore[typeddict-item]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size-mb", type=int, choices=[5, 50], default=5)
    parser.add_argument("--users", type=int, help="run at this X instead of searching for it")
    parser.add_argument("--smoke-users", type=int, default=5)
    parser.add_argument("--smoke-s", type=float, default=60)
    parser.add_argument("--ramp-s", type=float, default=180)
    parser.add_argument("--hold-s", type=float, default=300)
    parser.add_argument("--sustained-s", type=float, default=300)
    parser.add_argument("--start", type=int, default=20, help="first X of the search")
    parser.add_argument("--resolution", type=int, default=10, help="stop when X is known within this")
    parser.add_argument("--ceiling", type=int, default=640)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--workdir", type=Path, default=Path(".devdata/loadtest"))
    parser.add_argument("--tag", default="", help="appended to the result file name")
    args = parser.parse_args()

    workdir: Path = args.workdir.resolve()
    clip = clips.clip(workdir / "clips", args.size_mb)
    out_dir = workdir / f"web-{args.size_mb}mb{args.tag}"
    out_dir.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {
        "command": "python -m loadtest.web "
        + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items() if v is not None),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine.describe(),
        "clip_bytes": clip.stat().st_size,
        "runs": [],
    }
    runs: list[dict[str, object]] = report["runs"]  # type: ignore[assignment]
    result_file = workdir / f"web-{args.size_mb}mb{args.tag}.json"
    with running.platform(
        out_dir / "platform", out_dir / "platform.log", workers=0, extra_env=_ENV
    ) as started:
        ready.wait_for_ingest(started.ingest_url)
        host = started.api.removesuffix("/api")
        data = out_dir / "data.json"
        data.write_text(
            json.dumps(asyncio.run(seed.seed(started.api, started.db_url, args.accounts, clip)), indent=1)
        )

        def scenario(name: str, plan: list[stages.Stage]) -> locust_run.Run:
            with machine.Sampler() as cpu:
                result = locust_run.run(host, data, name, plan, out_dir / f"{name}-{plan[-1].users}")
            finished = datetime.now(UTC).isoformat(timespec="seconds")
            runs.append(result.summary() | cpu.summary() | {"finished": finished})
            print(json.dumps(runs[-1]), flush=True)
            # Written after every run, so an interrupted search still leaves what it measured.
            result_file.write_text(json.dumps(report, indent=1))
            asyncio.run(_clear_uploads(started.aws))
            time.sleep(5)  # let queued work from the previous run (connections, GC) settle
            return result

        scenario("smoke", stages.smoke(args.smoke_users, args.smoke_s))
        if args.users:
            x = args.users
            scenario("ramp", stages.ramp_hold(x, args.ramp_s, args.hold_s))
        else:
            found = search.search(
                lambda users: (
                    scenario("ramp", stages.ramp_hold(users, args.ramp_s, args.hold_s)).verdict.passed
                ),
                args.start,
                args.resolution,
                args.ceiling,
            )
            report["search"] = {
                "tried": found.tried,
                "largest_pass": found.largest_pass,
                "smallest_fail": found.smallest_fail,
            }
            x = found.largest_pass or 0
        if x:
            scenario("sustained", stages.sustained(max(1, round(0.8 * x)), args.sustained_s))
        report["x"] = x
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    result_file.write_text(json.dumps(report, indent=1))
    print(json.dumps({"size_mb": args.size_mb, "x": x, "search": report.get("search")}))
    # At a given X every scenario must pass; a search fails only when not even its smallest X passed.
    failed = [
        run["scenario"] for run in runs if not run["passed"] and (args.users or run["scenario"] != "ramp")
    ]
    sys.exit(1 if failed or not x else 0)


if __name__ == "__main__":
    main()
