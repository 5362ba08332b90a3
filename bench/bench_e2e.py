"""End to end: uploads of the 45 s 1080p30 clip through gateway and ingest, processed by the workers.

The platform is started exactly as ``make run`` starts it (the ``anb_devstack.launcher``, on free
ports), once with 1 and once with 2 transcoder worker processes. A user signs up and logs in
through the API and uploads via ``POST /api/videos/upload``; completion is seen through
``GET /api/videos`` (polled twice a second, so that polling costs the machine nothing measurable);
a video's completion time is its ``processed_at`` from that listing, the 202's time is the wall clock
when the response arrived (same machine, same clock).

Figures, same run:
- videos per minute: 10 uploads sent back to back; 10 × 60 s / (last video processed − first 202).
- overhead: on the 1-worker platform, idle apart from the job, one video at a time:
  (time from 202 to processed) − (pure transcode time), as a percentage of the pure transcode time.
  The pure transcode time is ``anb_transcoder.pipeline.transcode`` called directly on the same
  clip (a child process, as in bench_transcode), alternating with the end-to-end samples so that
  any load from elsewhere on the machine hits both alike. Target: <= 15 %.
The last line printed is one JSON object (also written to bench/results/e2e.json).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from bench_transcode import ensure_source, project_once

from anb_devstack.moto import free_port

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "e2e.json"
SCRATCH = ROOT / ".devdata" / "bench" / "e2e"
UPLOADS = int(os.environ.get("BENCH_E2E_UPLOADS", 10))
OVERHEAD_SAMPLES = int(os.environ.get("BENCH_E2E_OVERHEAD_SAMPLES", 3))
POLL_S = 0.5
TIMEOUT_S = 1800.0
TARGET_OVERHEAD_PCT = 15.0


class Platform:
    """The launcher as a child process, on free ports, with its own state folder."""

    def __init__(self, workers: int, folder: Path) -> None:
        self.workers = workers
        self.ports = {name: free_port() for name in ("gateway", "ingest", "moto", "postgres")}
        self.api = f"http://127.0.0.1:{self.ports['gateway']}/api"
        self.log = folder / f"platform-{workers}w.log"
        argv = [
            sys.executable, "-m", "anb_devstack.launcher", "--no-colour",
            "--devdata", str(folder / f"devdata-{workers}w"), "--workers", str(workers),
            *(arg for name, port in self.ports.items() for arg in (f"--{name}-port", str(port))),
        ]  # fmt: skip
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)

    def wait_healthy(self, timeout_s: float = 180.0) -> None:
        # The gateway's health covers the database only; uploads also need ingest to answer.
        urls = [f"{self.api}/health", f"http://127.0.0.1:{self.ports['ingest']}/internal/health"]
        deadline = time.monotonic() + timeout_s
        while urls and time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"launcher exited:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(urls[0], timeout=1).status_code == 200:
                    urls.pop(0)
                    continue
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        if urls:
            raise TimeoutError(f"platform not healthy:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Client:
    def __init__(self, api: str) -> None:
        self.http = httpx.Client(base_url=api, timeout=300)
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        password = "bench-password-1"
        signup = self.http.post(
            "/auth/signup",
            json={
                "first_name": "Bench", "last_name": "Player", "email": email, "password1": password,
                "password2": password, "city": "Bogotá", "country": "Colombia",
            },
        )  # fmt: skip
        signup.raise_for_status()
        login = self.http.post("/auth/login", json={"email": email, "password": password})
        login.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {login.json()['access_token']}"

    def upload(self, source: Path, title: str) -> tuple[str, float]:
        """Upload; returns (video id, wall-clock time when the 202 arrived)."""
        with source.open("rb") as file:
            files = {"video_file": (source.name, file, "video/mp4")}
            response = self.http.post("/videos/upload", files=files, data={"title": title})
        accepted_at = time.time()
        if response.status_code != 202:
            raise RuntimeError(f"upload answered {response.status_code}: {response.text}")
        return str(response.json()["video_id"]), accepted_at

    def videos(self) -> dict[str, dict[str, Any]]:
        response = self.http.get("/videos", params={"limit": 100})
        response.raise_for_status()
        return {item["video_id"]: item for item in response.json()}


def wait_processed(client: Client, pending: set[str]) -> dict[str, float]:
    """Each video's ``processed_at`` (epoch seconds); fails on a failed video."""
    done: dict[str, float] = {}
    deadline = time.monotonic() + TIMEOUT_S
    while pending - done.keys():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending - done.keys())} videos not processed")
        videos = client.videos()
        for video_id in pending - done.keys():
            video = videos.get(video_id, {})
            if video.get("status") == "processed":
                done[video_id] = datetime.fromisoformat(video["processed_at"]).timestamp()
            elif video.get("status") == "failed":
                raise RuntimeError(f"video {video_id} failed")
        time.sleep(POLL_S)
    return done


def overhead(platform: Platform, source: Path, scratch: Path) -> dict[str, Any]:
    client = Client(platform.api)
    transcode_s: list[float] = []
    e2e_s: list[float] = []
    in_worker_s: list[float] = []
    for index in range(OVERHEAD_SAMPLES):
        transcode_s.append(project_once(source, scratch / f"direct-{index}.mp4")["s"])
        video_id, accepted_at = client.upload(source, f"overhead {index}")
        e2e_s.append(wait_processed(client, {video_id})[video_id] - accepted_at)
        in_worker_s.append(worker_transcode_s(platform.log, video_id))
        print(
            f"  sample {index + 1}: 202→processed {e2e_s[-1]:.2f} s, pure transcode {transcode_s[-1]:.2f} s "
            f"(the worker's own transcode of it {in_worker_s[-1]:.2f} s)"
        )
    pure = statistics.median(transcode_s)
    end_to_end = statistics.median(e2e_s)
    return {
        "transcode_s": transcode_s,
        "e2e_s": e2e_s,
        "overhead_s": end_to_end - pure,
        "overhead_pct": 100.0 * (end_to_end - pure) / pure,
        # Report-only: each job's time outside its own transcode call (queue, download, status,
        # upload, publish), which load on the machine cannot push into the comparison.
        "platform_overhead_s": statistics.median(e - w for e, w in zip(e2e_s, in_worker_s, strict=True)),
    }


def worker_transcode_s(log: Path, video_id: str) -> float:
    """The seconds the worker's own transcode call of this video took, from its JSON log line."""
    for line in log.read_text(errors="replace").splitlines():
        _, _, record = line.partition("| ")
        if '"transcoded"' in record and video_id in record:
            return float(json.loads(record)["seconds"])
    raise RuntimeError(f"no transcode logged for {video_id}")


def throughput(platform: Platform, source: Path) -> dict[str, Any]:
    client = Client(platform.api)
    accepted: dict[str, float] = {}
    for index in range(UPLOADS):
        video_id, accepted_at = client.upload(source, f"batch {index}")
        accepted[video_id] = accepted_at
    done = wait_processed(client, set(accepted))
    span = max(done.values()) - min(accepted.values())
    return {"videos": UPLOADS, "span_s": span, "videos_per_min": UPLOADS * 60.0 / span}


def run_platform(workers: int, folder: Path, source: Path) -> dict[str, Any]:
    platform = Platform(workers, folder)
    try:
        platform.wait_healthy()
        print(f"platform with {workers} worker(s) up (log: {platform.log})")
        figures: dict[str, Any] = {}
        if workers == 1:
            figures["overhead"] = overhead(platform, source, folder)
        figures["throughput"] = throughput(platform, source)
        print(f"  {UPLOADS} videos in {figures['throughput']['span_s']:.1f} s with {workers} worker(s)")
        return figures
    finally:
        platform.stop()


def main() -> None:
    load_start = round(os.getloadavg()[0], 2)
    source = ensure_source()
    print(f"source: {source.relative_to(ROOT)} ({source.stat().st_size / 1e6:.1f} MB)")
    # Kept after the run (git-ignored) so that the platform logs can be read; cleared at the start.
    shutil.rmtree(SCRATCH, ignore_errors=True)
    SCRATCH.mkdir(parents=True)
    one = run_platform(1, SCRATCH, source)
    two = run_platform(2, SCRATCH, source)
    details = one["overhead"]
    summary = {
        "videos_per_min_1_worker": round(one["throughput"]["videos_per_min"], 2),
        "videos_per_min_2_workers": round(two["throughput"]["videos_per_min"], 2),
        "overhead_pct": round(details["overhead_pct"], 1),
        "overhead_s": round(details["overhead_s"], 2),
        "transcode_s": round(statistics.median(details["transcode_s"]), 2),
        "e2e_s": round(statistics.median(details["e2e_s"]), 2),
        "span_s_1_worker": round(one["throughput"]["span_s"], 1),
        "span_s_2_workers": round(two["throughput"]["span_s"], 1),
        "platform_overhead_s": round(details["platform_overhead_s"], 2),
        "uploads": UPLOADS,
        "target_overhead_pct": TARGET_OVERHEAD_PCT,
        # The machine is shared; a load far above its 2 cores makes every time above noisy.
        "loadavg_start": load_start,
        "loadavg_end": round(os.getloadavg()[0], 2),
    }
    scaling = summary["videos_per_min_2_workers"] / summary["videos_per_min_1_worker"]
    verdict = "meets" if summary["overhead_pct"] <= TARGET_OVERHEAD_PCT else "MISSES"
    print(
        f"overhead {summary['overhead_pct']} % of the {summary['transcode_s']} s transcode "
        f"({verdict} the <= {TARGET_OVERHEAD_PCT:.0f} % target); "
        f"{summary['videos_per_min_1_worker']} videos/min with 1 worker, "
        f"{summary['videos_per_min_2_workers']} with 2 "
        f"(2 workers / 1 worker = {scaling:.2f})"
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
