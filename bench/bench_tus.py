"""Resumable uploads (tus, #18) through the gateway and ingest (real uvicorn processes) into moto:

- ``tus_throughput_ratio_100mb``: a 100 MB upload sent as the CLI sends it (one POST, then PATCHes of
  16 MiB, each streamed from disk) through the gateway, over the plain aioboto3 multipart upload of
  the same bytes to the same moto (8 MiB parts, 4 in flight, as ingest's), median of 3 runs each,
  interleaved so that drift in moto or the machine hits both alike. The tus time runs from the POST
  to the last PATCH's 204, so it includes what that PATCH does once the bytes are in: completing the
  multipart upload, reading the object back, probing it and recording the video.
- ``tus_rss_growth_mb_20_uploads``: 20 players each upload a 20 MiB clip at once the same way; the
  figure is ingest's peak RSS (the kernel's high-water mark) minus its RSS at rest after a warm-up
  upload. The gateway's growth is reported beside it.

The files are bench_ingest's: a real 30 s 1080p clip followed by one ``free`` box of random bytes.
The last line printed is the JSON summary; bench/results/tus.json keeps every figure.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import psutil
from bench_ingest import MB, MIB, PeakRss, empty_bucket, padded_mp4, stop, upload_plain, wait_healthy

from anb_common.aws import Aws
from anb_common.db.migrate import upgrade
from anb_common.settings import AwsSettings
from anb_devstack.clips import make_clip
from anb_devstack.moto import MotoServer, free_port
from anb_devstack.postgres import EmbeddedPostgres
from anb_devstack.provision import provision

PATCH_BYTES = 16 * MIB
RUNS = int(os.environ.get("BENCH_TUS_RUNS", 3))
AT_ONCE = 20
RESULTS = Path(__file__).parent / "results" / "tus.json"
PASSWORD = "Bench-tus-2026-clave"


def _service(module: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "uvicorn", "--factory", "--loop", "uvloop", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--log-level", "warning", "--no-access-log", f"{module}:create_app"]
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def _player(client: httpx.AsyncClient, index: int) -> str:
    email = f"bench-tus-{index}-{uuid.uuid4().hex[:8]}@example.test"
    signup = {
        "first_name": "Bench", "last_name": f"Tus {index}", "email": email, "password1": PASSWORD,
        "password2": PASSWORD, "city": "Cali", "country": "Colombia",
    }  # fmt: skip
    (await client.post("/auth/signup", json=signup)).raise_for_status()
    login = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    login.raise_for_status()
    return str(login.json()["access_token"])


async def _segment(path: Path, start: int, end: int) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        left = end - start
        while left:
            chunk = handle.read(min(MIB, left))
            left -= len(chunk)
            yield chunk


async def upload_tus(api: str, token: str, path: Path) -> float:
    """Seconds from the POST to the 204 that says the video exists."""
    size = path.stat().st_size
    auth = {"Authorization": f"Bearer {token}", "Tus-Resumable": "1.0.0"}
    title = base64.b64encode(b"Bench").decode()
    async with httpx.AsyncClient(base_url=api, timeout=600) as client:
        started = time.perf_counter()
        created = await client.post(
            "/uploads/", headers={**auth, "Upload-Length": str(size), "Upload-Metadata": f"title {title}"}
        )
        if created.status_code != 201:
            raise RuntimeError(f"creation answered {created.status_code}: {created.text}")
        location, offset = created.headers["Location"], 0
        while True:
            end = min(offset + PATCH_BYTES, size)
            headers = {
                **auth,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(end - offset),
            }
            answer = await client.patch(location, headers=headers, content=_segment(path, offset, end))
            if answer.status_code != 204:
                raise RuntimeError(f"PATCH answered {answer.status_code}: {answer.text}")
            offset = int(answer.headers["Upload-Offset"])
            if "ANB-Video-Status" in answer.headers:
                return time.perf_counter() - started


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-tus-"))
    moto = MotoServer(free_port())
    postgres = EmbeddedPostgres(work / "pg", free_port())
    services: list[subprocess.Popen[bytes]] = []
    try:
        moto.start()
        postgres.init()
        postgres.start()
        await asyncio.to_thread(upgrade, postgres.url)
        settings = AwsSettings(endpoint_url=moto.url, bucket="bench-tus")
        aws = Aws(settings)
        await provision(aws)
        clip = make_clip(work / "clip.mp4", seconds=30, fps=1, options={"crf": "45"})
        big = padded_mp4(clip, work / "bench-100mb.mp4", 100 * MB)
        small = padded_mp4(clip, work / "bench-20mib.mp4", 20 * MIB)
        warmup = padded_mp4(clip, work / "warmup.mp4", 2 * MB)

        ingest_port, gateway_port = free_port(), free_port()
        env = {
            **os.environ,
            "ANB_DEV_MODE": "true",
            "ANB_DEVDATA_DIR": str(work / "devdata"),
            "ANB_DB_URL": postgres.url,
            "ANB_AWS_ENDPOINT_URL": moto.url,
            "ANB_AWS_BUCKET": settings.bucket,
            "ANB_JWT_SECRET": "bench-jwt-secret-" + "j" * 32,
            "ANB_INTERNAL_SECRET": "bench-internal-secret-" + "b" * 32,
            "ANB_INGEST_TEMP_DIR": str(work / "spool"),
            "ANB_INGEST_URL": f"http://127.0.0.1:{ingest_port}",
            # Twenty players sign up and log in from this one address within a second.
            "ANB_AUTH_RATE_LIMIT_PER_MINUTE": "100000",
        }
        ingest = _service("anb_ingest.app", ingest_port, env)
        services.append(ingest)
        wait_healthy(ingest, f"http://127.0.0.1:{ingest_port}/internal/health")
        gateway = _service("anb_gateway.app", gateway_port, env)
        services.append(gateway)
        wait_healthy(gateway, f"http://127.0.0.1:{gateway_port}/api/health")
        api = f"http://127.0.0.1:{gateway_port}/api"
        async with httpx.AsyncClient(base_url=api, timeout=60) as client:
            tokens = [await _player(client, index) for index in range(AT_ONCE)]

        await upload_tus(api, tokens[0], warmup)
        await upload_plain(settings, warmup)
        await empty_bucket(aws)
        await asyncio.sleep(1)
        ingest_idle = psutil.Process(ingest.pid).memory_info().rss
        gateway_idle = psutil.Process(gateway.pid).memory_info().rss

        plain, through = [], []
        for _ in range(RUNS):
            plain.append(await upload_plain(settings, big))
            await empty_bucket(aws)
            through.append(await upload_tus(api, tokens[0], big))
            await empty_bucket(aws)
        plain_mbs, tus_mbs = 100 / statistics.median(plain), 100 / statistics.median(through)
        ratio = tus_mbs / plain_mbs
        print(
            f"100 MB: aioboto3 {plain_mbs:.1f} MB/s, tus through the gateway {tus_mbs:.1f} MB/s, "
            f"ratio {ratio:.2f}"
        )

        with PeakRss(ingest.pid) as ingest_peak, PeakRss(gateway.pid) as gateway_peak:
            started = time.perf_counter()
            await asyncio.gather(*(upload_tus(api, token, small) for token in tokens))
            crowd_s = time.perf_counter() - started
        await empty_bucket(aws)
        ingest_growth = (ingest_peak.hwm() - ingest_idle) / MB
        gateway_growth = (gateway_peak.hwm() - gateway_idle) / MB
        print(
            f"{AT_ONCE} x 20 MiB at once in {crowd_s:.1f} s: ingest RSS idle {ingest_idle / MB:.1f} MB, "
            f"growth {ingest_growth:.1f} MB; gateway growth {gateway_growth:.1f} MB",
            flush=True,
        )
        results = {
            "tus_throughput_ratio_100mb": round(ratio, 3),
            "tus_rss_growth_mb_20_uploads": round(ingest_growth, 1),
            "plain_mb_per_s_100mb": round(plain_mbs, 1),
            "tus_mb_per_s_100mb": round(tus_mbs, 1),
            "runs_s_100mb": {"aioboto3": [round(t, 2) for t in plain], "tus": [round(t, 2) for t in through]},
            "gateway_rss_growth_mb_20_uploads": round(gateway_growth, 1),
            "twenty_uploads_s": round(crowd_s, 1),
            "ingest_rss_idle_mb": round(ingest_idle / MB, 1),
            # Other work on the machine moves both sides of the ratio; the load says how much there was.
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
        print(
            json.dumps(
                {key: results[key] for key in ("tus_throughput_ratio_100mb", "tus_rss_growth_mb_20_uploads")}
            )
        )
    finally:
        for process in reversed(services):
            stop(process)
        postgres.stop()
        moto.stop()
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    asyncio.run(main())
