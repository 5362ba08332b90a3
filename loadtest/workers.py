"""Worker tier: N jobs already on the queue, then 1, 2 and 4 transcoder processes take them.

For each clip size a platform is started with no transcoder (``workers=0``); for each worker count a
batch of N clips is uploaded through the API (so each job is on the queue exactly as in production,
row and original in place), and only then are that many ``python -m anb_transcoder`` processes
started with the launcher's environment. Figures per batch, from the videos' own timestamps in the
database: videos per minute = N x 60 / (last processed_at - first processing_started_at); mean
service time = mean(processed_at - processing_started_at); plus the machine's CPU use while it ran.
Results: ``<workdir>/workers.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import psutil

from anb_common.signing_keys import dev_keys
from anb_devstack import running
from loadtest import clips, machine, ready

_LONG_POLL_S = 20
_PASSWORD = "load-password-1"  # noqa: S105 - throwaway account on a local test platform


def _login(api: str) -> httpx.Client:
    client = httpx.Client(base_url=api, timeout=600)
    email = f"workers-{uuid.uuid4().hex[:8]}@example.com"
    body = {
        "first_name": "Carga", "last_name": "Workers", "email": email, "password1": _PASSWORD,
        "password2": _PASSWORD, "city": "Bogotá", "country": "Colombia",
    }  # fmt: skip
    client.post("/auth/signup", json=body).raise_for_status()
    login = client.post("/auth/login", json={"email": email, "password": _PASSWORD})
    login.raise_for_status()
    client.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    return client


def _upload(client: httpx.Client, clip: Path, title: str) -> str:
    with clip.open("rb") as handle:
        response = client.post(
            "/videos/upload", files={"video_file": (clip.name, handle, "video/mp4")}, data={"title": title}
        )
    if response.status_code != 202:
        raise RuntimeError(f"upload answered {response.status_code}: {response.text[:300]}")
    return str(response.json()["video_id"])


def _worker_env(started: running.RunningPlatform) -> dict[str, str]:
    """The environment the launcher gives its transcoders (see anb_devstack.launcher.Platform.env)."""
    keys = dev_keys(started.devdata)
    return {
        **os.environ,
        "ANB_DEV_MODE": "true",
        "ANB_DEVDATA_DIR": str(started.devdata),
        "ANB_DB_URL": started.db_url,
        "ANB_AWS_ENDPOINT_URL": started.moto_url,
        "ANB_JWT_SECRET": keys["jwt_secret"],
        "ANB_INTERNAL_SECRET": keys["internal_secret"],
        "ANB_INGEST_URL": started.ingest_url,
        "ANB_PROCESSING_TEMP_DIR": str(started.temp_dir),
        "PYTHONUNBUFFERED": "1",
    }


async def _times(db_url: str, ids: list[str]) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return list(
            await connection.fetch(
                "SELECT id, status, processing_started_at, processed_at FROM videos"
                " WHERE id = ANY($1::uuid[])",
                ids,
            )
        )
    finally:
        await connection.close()


def batch(
    started: running.RunningPlatform, client: httpx.Client, clip: Path, workers: int, jobs: int, log_dir: Path
) -> dict[str, object]:
    ids = [_upload(client, clip, f"workers {workers} job {index}") for index in range(jobs)]
    env = _worker_env(started)
    processes = []
    for index in range(workers):
        with (log_dir / f"transcoder-{clip.stem}-{workers}w-{index + 1}.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "anb_transcoder"], env=env, stdout=log, stderr=subprocess.STDOUT
                )
            )
    # Bounded: a stuck batch must end the run with an error, not hang it.
    deadline = time.monotonic() + 60 * jobs
    try:
        with machine.Sampler() as cpu:
            while True:
                rows = asyncio.run(_times(started.db_url, ids))
                if all(row["status"] in ("processed", "failed") for row in rows):
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{workers} workers: batch not done in {60 * jobs} s")
                time.sleep(1)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=120)
        # A stopped worker's last long poll stays open on the queue's side for up to 20 s; a job
        # uploaded meanwhile is handed to it and stays hidden for the 300 s visibility timeout (seen:
        # one job of the next batch started 5 min late). The next batch waits the poll out.
        time.sleep(_LONG_POLL_S + 2)
    done = [row for row in rows if row["status"] == "processed"]
    service = [(row["processed_at"] - row["processing_started_at"]).total_seconds() for row in done]
    first = min(row["processing_started_at"] for row in done)
    last = max(row["processed_at"] for row in done)
    span = (last - first).total_seconds()
    return {
        "clip_bytes": clip.stat().st_size,
        "workers": workers,
        "jobs": jobs,
        "processed": len(done),
        "failed": len(rows) - len(done),
        "span_s": round(span, 1),
        "videos_per_min": round(len(done) * 60 / span, 2),
        "mean_service_s": round(statistics.mean(service), 2),
        "max_service_s": round(max(service), 2),
        **cpu.summary(),
        "load_avg_after": [round(x, 2) for x in psutil.getloadavg()],
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes-mb", type=int, nargs="+", default=[50, 100])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--jobs", type=int, default=8)
    parser.add_argument("--workdir", type=Path, default=Path(".devdata/loadtest"))
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    workdir: Path = args.workdir.resolve()
    report: dict[str, object] = {
        "command": f"python -m loadtest.workers --sizes-mb {' '.join(map(str, args.sizes_mb))} "
        f"--workers {' '.join(map(str, args.workers))} --jobs {args.jobs}",
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine.describe(),
        "batches": [],
    }
    batches: list[dict[str, object]] = report["batches"]  # type: ignore[assignment]
    for size in args.sizes_mb:
        clip = clips.clip(workdir / "clips", size)
        out_dir = workdir / f"workers-{size}mb{args.tag}"
        out_dir.mkdir(parents=True, exist_ok=True)
        # A fresh platform per size: moto keeps every original in RAM.
        with running.platform(out_dir / "platform", out_dir / "platform.log", workers=0) as started:
            ready.wait_for_ingest(started.ingest_url)
            client = _login(started.api)
            for workers in args.workers:
                batches.append({"size_mb": size} | batch(started, client, clip, workers, args.jobs, out_dir))
                print(json.dumps(batches[-1]), flush=True)
    report["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    (workdir / f"workers{args.tag}.json").write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
