"""Ingest throughput and memory: uploads of 100 MB and 500 MB through ingest (a real uvicorn process)
into moto, against a plain aioboto3 multipart upload of the same bytes to the same moto, same run.

The files are valid MP4s of exactly 100 MB / 500 MB: a real 30 s 1080p H.264 clip (so the probe
and every rule pass) followed by one top-level ``free`` box of random bytes. MP4 readers skip
``free``/``skip`` boxes by design, and the mov demuxer stops reading top-level boxes once it has
``moov`` and ``mdat``, so the padding costs ingest exactly what any byte of a real video costs on
the way in (parse, hash, spool, upload) while the probe still sees a real clip.

Figures: throughput ratio = ingest MB/s over aioboto3 MB/s (median of the runs, interleaved so that
drift in moto or the machine hits both alike); RSS growth = ingest's peak RSS during the 500 MB
upload minus its idle RSS (measured after one small warm-up upload, so that lazily loaded code is
counted as idle, not as growth). Peak RSS is the kernel's high-water mark (VmHWM), reset with
``clear_refs`` before the upload, cross-checked by sampling. The last line printed is the JSON summary.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aioboto3
import httpx
import psutil
from boto3.s3.transfer import TransferConfig  # type: ignore[import-untyped]

from anb_common import identity
from anb_common.aws import Aws
from anb_common.db.engine import create_engine, session_factory
from anb_common.db.migrate import upgrade
from anb_common.db.models import User
from anb_common.settings import AwsSettings, DatabaseSettings
from anb_devstack.clips import make_clip
from anb_devstack.moto import MotoServer, free_port
from anb_devstack.postgres import EmbeddedPostgres
from anb_devstack.provision import provision

MB = 1000 * 1000
MIB = 1024 * 1024
SIZES_MB = (100, 500)
RUNS = {100: int(os.environ.get("BENCH_RUNS_100", 5)), 500: int(os.environ.get("BENCH_RUNS_500", 3))}
# The shipped defaults (UploadLimits); the environment may override them to explore, not to report.
PART_BYTES = int(os.environ.get("BENCH_PART_BYTES", 8 * MIB))
IN_FLIGHT = int(os.environ.get("BENCH_IN_FLIGHT", 4))
SECRET = "bench-internal-secret-" + "b" * 32
BENCH_USER = uuid.UUID(int=1)
RESULTS = Path(__file__).parent / "results" / "ingest.json"


def padded_mp4(clip: Path, target: Path, size: int) -> Path:
    """``clip`` plus one top-level ``free`` box so that the file is exactly ``size`` bytes."""
    data = clip.read_bytes()
    pad = size - len(data)
    assert 8 <= pad < 2**32, "one 32-bit free box"
    block = os.urandom(MIB)
    with target.open("wb") as out:
        out.write(data)
        out.write(struct.pack(">I", pad) + b"free")
        left = pad - 8
        while left:
            out.write(block[: min(left, MIB)])
            left -= min(left, MIB)
    return target


def multipart_head(boundary: str) -> bytes:
    return (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nBench\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="video_file"; filename="bench.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()


async def file_chunks(path: Path, head: bytes, tail: bytes) -> AsyncIterator[bytes]:
    yield head
    with path.open("rb") as f:
        while chunk := f.read(MIB):
            yield chunk
    yield tail


async def upload_through_ingest(url: str, path: Path) -> float:
    boundary = uuid.uuid4().hex
    head, tail = multipart_head(boundary), f"\r\n--{boundary}--\r\n".encode()
    length = len(head) + path.stat().st_size + len(tail)
    token = identity.sign(BENCH_USER, SECRET, method="POST", path="/internal/uploads")
    headers = {
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(length),
        identity.HEADER: token,
    }
    async with httpx.AsyncClient(timeout=600) as client:
        started = time.perf_counter()
        response = await client.post(url, content=file_chunks(path, head, tail), headers=headers)
        elapsed = time.perf_counter() - started
    if response.status_code != 202:
        raise RuntimeError(f"ingest answered {response.status_code}: {response.text}")
    return elapsed


async def upload_plain(settings: AwsSettings, path: Path) -> float:
    session = aioboto3.Session(region_name=settings.region)
    config = TransferConfig(
        multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES, max_concurrency=IN_FLIGHT
    )
    async with session.client(
        "s3",
        endpoint_url=settings.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ) as s3:
        started = time.perf_counter()
        await s3.upload_file(str(path), settings.bucket, f"bench/{uuid.uuid4()}.mp4", Config=config)
        return time.perf_counter() - started


async def create_user(url: str) -> None:
    engine = create_engine(DatabaseSettings(url=url))
    async with session_factory(engine).begin() as session:
        session.add(
            User(
                id=BENCH_USER,
                first_name="Bench",
                last_name="Mark",
                email="bench@example.test",
                password_hash="x",
                city="Bogotá",
                country="Colombia",
            )
        )
    await engine.dispose()


async def empty_bucket(aws: Aws) -> None:
    """moto keeps objects in RAM: drop each run's object so the server does not grow through the bench."""
    async with aws.s3() as s3:
        for prefix in ("uploads/", "bench/"):
            listing = await s3.list_objects_v2(Bucket=aws.settings.bucket, Prefix=prefix)
            for item in listing.get("Contents", []):
                if item["Key"] != prefix:
                    await s3.delete_object(Bucket=aws.settings.bucket, Key=item["Key"])


class PeakRss:
    """Peak RSS of a process over a block: kernel high-water mark, cross-checked by sampling."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.process = psutil.Process(pid)
        self.sampled = 0
        self._stop = threading.Event()

    def __enter__(self) -> PeakRss:
        Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.sampled = max(self.sampled, self.process.memory_info().rss)
            time.sleep(0.01)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def hwm(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        return self.sampled


def wait_healthy(process: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ingest exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("ingest did not become healthy")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, as systemd stops a service, so that it cleans up; killed if it takes over 30 s."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    moto = MotoServer(free_port())
    postgres = EmbeddedPostgres(work / "pg", free_port())
    ingest: subprocess.Popen[bytes] | None = None
    try:
        moto.start()
        postgres.init()
        postgres.start()
        await asyncio.to_thread(upgrade, postgres.url)
        settings = AwsSettings(endpoint_url=moto.url, bucket="bench-ingest")
        aws = Aws(settings)
        await provision(aws)
        await create_user(postgres.url)

        clip = make_clip(work / "clip.mp4", seconds=30, fps=1, options={"crf": "45"})
        files = {size: padded_mp4(clip, work / f"bench-{size}mb.mp4", size * MB) for size in SIZES_MB}
        warmup = padded_mp4(clip, work / "warmup.mp4", 2 * MB)

        port = free_port()
        env = {
            **os.environ,
            "ANB_DEV_MODE": "true",
            "ANB_DB_URL": postgres.url,
            "ANB_AWS_ENDPOINT_URL": moto.url,
            "ANB_AWS_BUCKET": settings.bucket,
            "ANB_INTERNAL_SECRET": SECRET,
            # The limit raised for the bench: the 500 MB file must pass.
            "ANB_UPLOAD_MAX_BYTES": str(600 * MB),
            "ANB_INGEST_PART_SIZE_BYTES": str(PART_BYTES),
            "ANB_INGEST_PARTS_IN_FLIGHT": str(IN_FLIGHT),
            "ANB_INGEST_TEMP_DIR": str(work / "spool"),
        }
        argv = [sys.executable, "-m", "uvicorn", "--factory", "--loop", "uvloop", "--host", "127.0.0.1"]
        argv += ["--port", str(port), "--log-level", "warning", "anb_ingest.app:create_app"]
        ingest = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        wait_healthy(ingest, base + "/internal/health")
        upload_url = base + "/internal/uploads"

        process = psutil.Process(ingest.pid)
        rss_cold = process.memory_info().rss
        await upload_through_ingest(upload_url, warmup)
        await upload_plain(settings, warmup)
        await empty_bucket(aws)
        await asyncio.sleep(1)
        rss_idle = process.memory_info().rss

        results: dict[str, object] = {}
        for size in SIZES_MB:
            path = files[size]
            plain, through = [], []
            peaks: list[tuple[int, int]] = []
            cpu: list[float] = []
            for _ in range(RUNS[size]):
                plain.append(await upload_plain(settings, path))
                await empty_bucket(aws)
                cpu_before = process.cpu_times()
                with PeakRss(ingest.pid) as peak:
                    through.append(await upload_through_ingest(upload_url, path))
                cpu_after = process.cpu_times()
                cpu.append(cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system)
                peaks.append((peak.hwm(), peak.sampled))
                await empty_bucket(aws)
            plain_mbs = size / statistics.median(plain)
            ingest_mbs = size / statistics.median(through)
            ratio = ingest_mbs / plain_mbs
            peak_hwm = max(p[0] for p in peaks)
            peak_sampled = max(p[1] for p in peaks)
            print(
                f"{size} MB: aioboto3 {plain_mbs:.1f} MB/s, ingest {ingest_mbs:.1f} MB/s, ratio {ratio:.2f}; "
                f"ingest RSS idle {rss_idle / MB:.1f} MB, peak {peak_hwm / MB:.1f} MB "
                f"(sampled {peak_sampled / MB:.1f} MB); ingest CPU {statistics.median(cpu):.1f} s per upload",
                flush=True,
            )
            results[f"throughput_ratio_{size}mb"] = round(ratio, 3)
            results[f"plain_mb_per_s_{size}mb"] = round(plain_mbs, 1)
            results[f"ingest_mb_per_s_{size}mb"] = round(ingest_mbs, 1)
            results[f"rss_growth_mb_{size}mb"] = round((peak_hwm - rss_idle) / MB, 1)
            results[f"runs_s_{size}mb"] = {
                "aioboto3": [round(t, 2) for t in plain],
                "ingest": [round(t, 2) for t in through],
            }
        results["rss_idle_mb"] = round(rss_idle / MB, 1)
        results["rss_cold_mb"] = round(rss_cold / MB, 1)
        # Other work on the machine moves both sides of each ratio; the load says how much there was.
        results["load_average_1m"] = round(os.getloadavg()[0], 2)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        headline = {
            key: results[key]
            for key in ("throughput_ratio_100mb", "throughput_ratio_500mb", "rss_growth_mb_500mb")
        }
        print(json.dumps(headline))
    finally:
        if ingest is not None:
            stop(ingest)
        postgres.stop()
        moto.stop()
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    asyncio.run(main())
