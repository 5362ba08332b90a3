"""Gateway benchmark (issue 3), every figure measured side by side in one run.

1. ``auth_get_over_bare``: authenticated ``GET /api/videos`` requests/s through the gateway ÷ a bare
   Litestar hello-world; both one uvicorn process with ``--loop uvloop --no-access-log``, the same wrk
   (Debian's package) settings, alternated twice, median of each side. Target >= 0.5. The gateway
   serves a player's repeated listing from memory (anb_gateway.listings); a second gateway with that
   cache off (every listing from PostgreSQL) is measured beside it and reported as
   ``auth_get_uncached_over_bare``.
2. ``rankings_p95_ms`` / ``rankings_rps_50``: ``GET /api/public/rankings`` over 100k players and 1M
   votes (pages and cities mixed), p95 latency at 1 connection (target <= 20 ms) and requests/s at 50.
3. ``proxy_throughput_ratio`` / ``proxy_rss_growth_mb``: a 100 MB upload through the gateway to the real
   ingest vs straight to ingest (alternated, median of 3 each; target >= 0.85), and the gateway's peak
   RSS during a 100 MB upload minus its peak during a 1 MB upload (target <= 30 MB).
4. ``events_fanout_p95_ms``: 300 clients follow one player's ``GET /api/videos/events``; for each of
   100 status commits of one of their videos, the time from sending the commit to the last client
   having its event (p95; target <= 1000 ms). The clients are read by this process on the same cores.
5. ``gallery_p95_ms``: the web app's gallery page for a city (``/?city=…``, pages 1 and 2 of each) over
   the same league, 50 wrk connections of first-time visitors (target <= 50 ms).

The platform (PostgreSQL, moto, ingest) is started as ``make run`` starts it, without transcoders so
that no encode competes for the two cores; the measured gateway is a separate process we control.
The last line printed is one JSON object; it is also written to bench/results/gateway.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

import asyncpg
import httpx
import psutil
from gateway import seed, wrk
from gateway.fanout import fanout
from gateway.uploads import PeakRss, padded_mp4, upload

from anb_common import identity
from anb_common.aws import Aws
from anb_devstack import running
from anb_devstack.clips import make_clip
from anb_devstack.moto import free_port

if TYPE_CHECKING:
    from types_aiobotocore_s3.type_defs import ObjectIdentifierTypeDef

RESULTS = Path(__file__).parent / "results" / "gateway.json"
MB = 1000 * 1000
WRK_SECONDS = int(os.environ.get("BENCH_WRK_SECONDS", 10))
UPLOAD_RUNS = int(os.environ.get("BENCH_UPLOAD_RUNS", 3))
EVENT_CLIENTS = int(os.environ.get("BENCH_EVENT_CLIENTS", 300))
EVENT_COMMITS = int(os.environ.get("BENCH_EVENT_COMMITS", 100))
PASSWORD = "bench-password-2026"


def say(line: str) -> None:
    print(line, flush=True)


@contextmanager
def serve(app: str, env: dict[str, str], log: Path, app_dir: str | None = None) -> Iterator[str]:
    """One uvicorn process, started the same way for the gateway and for the hello-world."""
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "--factory", "--loop", "uvloop", "--no-access-log",
        "--host", "127.0.0.1", "--port", str(port), *(["--app-dir", app_dir] if app_dir else []), app,
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{app} exited:\n{log.read_text()[-3000:]}")
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        serve.pids[url] = process.pid  # type: ignore[attr-defined]
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


serve.pids = {}  # type: ignore[attr-defined]


async def bench_user(api: str, db_url: str) -> tuple[str, uuid.UUID]:
    """A player with five videos (two processed: their listing carries presigned links)."""
    email = f"bench-{uuid.uuid4().hex[:8]}@bench.example"
    body = {
        "first_name": "Banco", "last_name": "Prueba", "email": email, "password1": PASSWORD,
        "password2": PASSWORD, "city": "Bogotá", "country": "Colombia",
    }  # fmt: skip
    async with httpx.AsyncClient(base_url=api, timeout=30) as client:
        created = await client.post("/api/auth/signup", json=body)
        created.raise_for_status()
        login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
    user_id = uuid.UUID(created.json()["user_id"])
    connection = await asyncpg.connect(db_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        for index in range(5):
            done = index < 2
            video_id = uuid.uuid4()
            await connection.execute(
                "INSERT INTO videos (id, user_id, title, status, original_key, processed_key, container,"
                " codec, size_bytes, duration_s, width, height, checksum_sha256, processed_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, 'mp4', 'h264', 1, 30, 1920, 1080, $7,"
                " CASE WHEN $8 THEN now() END)",
                video_id, user_id, f"Jugada {index}", "processed" if done else "uploaded",
                f"uploads/{video_id}.mp4", f"processed/{video_id}.mp4" if done else None, "0" * 64, done,
            )  # fmt: skip
    finally:
        await connection.close()
    return str(login.json()["access_token"]), user_id


def auth_get_ratio(gateway: str, uncached: str, hello: str, token: str) -> dict[str, float]:
    auth_script = wrk.script(["/api/videos"], {"Authorization": f"Bearer {token}"})
    hello_script = wrk.script(["/hello"])
    servers = {
        "gateway": (gateway, auth_script),
        "uncached": (uncached, auth_script),
        "hello": (hello, hello_script),
    }
    # Warm all (imports, pools, caches) before anything counts.
    for url, lua in servers.values():
        wrk.run(url, lua, seconds=3, connections=32, threads=1)
    rps: dict[str, list[float]] = {name: [] for name in servers}
    for _ in range(2):
        for name, (url, lua) in servers.items():
            rps[name].append(wrk.run(url, lua, seconds=WRK_SECONDS, connections=32, threads=1).rps)
    auth, plain, bare = (statistics.median(rps[name]) for name in ("gateway", "uncached", "hello"))
    say(
        f"auth GET /api/videos: {auth:,.0f} req/s (listing cache off: {plain:,.0f}); "
        f"bare hello-world: {bare:,.0f} req/s"
    )
    return {
        "auth_get_rps": round(auth),
        "bare_rps": round(bare),
        "auth_get_over_bare": round(auth / bare, 3),
        # Report-only: every listing read from PostgreSQL, as with ANB_LISTING_CACHE_TTL_S=0.
        "auth_get_uncached_rps": round(plain),
        "auth_get_uncached_over_bare": round(plain / bare, 3),
    }


def rankings(gateway: str) -> dict[str, float]:
    paths = [f"/api/public/rankings?offset={offset}" for offset in (0, 0, 0, 20, 40, 100, 500, 1000)]
    paths += [
        f"/api/public/rankings?city={city}&offset={offset}" for city in seed.CITIES for offset in (0, 20)
    ]
    lua = wrk.script([path.replace("á", "%C3%A1").replace("í", "%C3%AD") for path in paths])
    wrk.run(gateway, lua, seconds=3, connections=4)
    one = wrk.run(gateway, lua, seconds=WRK_SECONDS, connections=1)
    fifty = wrk.run(gateway, lua, seconds=WRK_SECONDS, connections=50, threads=1)
    say(
        f"rankings, 1 client: p50 {one.p50_ms:.2f} ms, p95 {one.p95_ms:.2f} ms ({one.rps:,.0f} req/s); "
        f"50 clients: {fifty.rps:,.0f} req/s, p95 {fifty.p95_ms:.1f} ms"
    )
    return {
        "rankings_p50_ms": round(one.p50_ms, 2),
        "rankings_p95_ms": round(one.p95_ms, 2),
        "rankings_rps_1": round(one.rps),
        "rankings_rps_50": round(fifty.rps),
        "rankings_p95_ms_50": round(fifty.p95_ms, 1),
    }


def gallery(gateway: str) -> dict[str, float]:
    """The web app's gallery page for a city over the same league, as first-time visitors load it (no
    cookie: each answer also mints a form token and its cookie), pages 1 and 2 of every city."""
    paths = [
        f"/?city={quote(city)}" + (f"&page={number}" if number > 1 else "")
        for city in seed.CITIES
        for number in (1, 2)
    ]
    lua = wrk.script(paths)
    wrk.run(gateway, lua, seconds=3, connections=4)
    fifty = wrk.run(gateway, lua, seconds=WRK_SECONDS, connections=50, threads=1)
    say(
        f"gallery page, 50 clients: {fifty.rps:,.0f} req/s, "
        f"p50 {fifty.p50_ms:.1f} ms, p95 {fifty.p95_ms:.1f} ms"
    )
    return {
        "gallery_p50_ms": round(fifty.p50_ms, 1),
        "gallery_p95_ms": round(fifty.p95_ms, 1),
        "gallery_rps_50": round(fifty.rps),
    }


async def empty_uploads(aws: Aws) -> None:
    """moto keeps objects in RAM: drop each upload's object before the next one."""
    async with aws.s3() as s3:
        listed = await s3.list_objects_v2(Bucket=aws.settings.bucket, Prefix="uploads/")
        keys: list[ObjectIdentifierTypeDef] = [
            {"Key": item["Key"]} for item in listed.get("Contents", []) if item["Key"] != "uploads/"
        ]
        if keys:
            await s3.delete_objects(Bucket=aws.settings.bucket, Delete={"Objects": keys})


async def proxy(
    gateway: str, ingest: str, token: str, user_id: uuid.UUID, secret: str, aws: Aws, work: Path
) -> dict[str, float]:
    clip = make_clip(work / "clip.mp4", seconds=30, fps=1, options={"crf": "45"})
    small = padded_mp4(clip, work / "1mb.mp4", 1 * MB)
    large = padded_mp4(clip, work / "100mb.mp4", 100 * MB)
    through = {"Authorization": f"Bearer {token}"}

    def direct() -> dict[str, str]:
        return {identity.HEADER: identity.sign(user_id, secret, method="POST", path="/internal/uploads")}

    gateway_upload, ingest_upload = gateway + "/api/videos/upload", ingest + "/internal/uploads"
    pid = serve.pids[gateway]  # type: ignore[attr-defined]
    for _ in range(2):  # warm: first-use allocations are not what the file size costs
        await upload(gateway_upload, small, through)
        await upload(ingest_upload, small, direct())
    await empty_uploads(aws)
    with PeakRss(pid) as rss_small:
        await upload(gateway_upload, small, through)
    cpu_before = psutil.Process(pid).cpu_times()
    with PeakRss(pid) as rss_large:
        await upload(gateway_upload, large, through)
    cpu_after = psutil.Process(pid).cpu_times()
    cpu_s = (cpu_after.user + cpu_after.system) - (cpu_before.user + cpu_before.system)
    await empty_uploads(aws)
    via_gateway, straight = [], []
    for _ in range(UPLOAD_RUNS):
        straight.append(await upload(ingest_upload, large, direct()))
        await empty_uploads(aws)
        via_gateway.append(await upload(gateway_upload, large, through))
        await empty_uploads(aws)
    gateway_s, ingest_s = statistics.median(via_gateway), statistics.median(straight)
    growth = rss_large.peak_mb - rss_small.peak_mb
    say(
        f"100 MB upload: through the gateway {100 / gateway_s:.1f} MB/s, straight to ingest "
        f"{100 / ingest_s:.1f} MB/s; gateway peak RSS {rss_small.peak_mb:.1f} MB (1 MB upload) vs "
        f"{rss_large.peak_mb:.1f} MB (100 MB upload); gateway CPU for the 100 MB upload {cpu_s:.2f} s"
    )
    return {
        "proxy_throughput_ratio": round(ingest_s / gateway_s, 3),
        "proxy_gateway_mb_per_s": round(100 / gateway_s, 1),
        "proxy_ingest_mb_per_s": round(100 / ingest_s, 1),
        "proxy_rss_1mb_peak_mb": round(rss_small.peak_mb, 1),
        "proxy_rss_100mb_peak_mb": round(rss_large.peak_mb, 1),
        "proxy_rss_growth_mb": round(growth, 1),
        "proxy_gateway_cpu_s_per_100mb": round(cpu_s, 2),
    }


async def events_fanout(gateway: str, token: str, user_id: uuid.UUID, db_url: str) -> dict[str, float]:
    dsn = db_url.replace("postgresql+asyncpg://", "postgresql://")
    video_id = uuid.uuid4()
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            "INSERT INTO videos (id, user_id, title, status, original_key, container, codec, size_bytes,"
            " duration_s, width, height, checksum_sha256) VALUES ($1, $2, 'En vivo', 'uploaded', $3, 'mp4',"
            " 'h264', 1, 30, 1920, 1080, $4)",
            video_id, user_id, f"uploads/{video_id}.mp4", "0" * 64,
        )  # fmt: skip
    finally:
        await connection.close()
    latencies = sorted(await fanout(gateway, token, video_id, dsn, EVENT_CLIENTS, EVENT_COMMITS))
    p50 = statistics.median(latencies) * 1000
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)] * 1000
    say(
        f"events: {EVENT_COMMITS} status commits to {EVENT_CLIENTS} streams, commit to the last client's"
        f" event: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {latencies[-1] * 1000:.1f} ms"
    )
    return {
        "events_fanout_clients": EVENT_CLIENTS,
        "events_fanout_p50_ms": round(p50, 1),
        "events_fanout_p95_ms": round(p95, 1),
    }


def main() -> None:
    # Other work on the machine shifts every figure; the load is recorded beside them.
    results: dict[str, object] = {"load_avg_1m_start": round(os.getloadavg()[0], 1)}
    with tempfile.TemporaryDirectory(prefix="anb-bench-gateway-") as tmp:
        work = Path(tmp)
        say("starting the platform (PostgreSQL, moto, ingest; no transcoders)")
        with running.platform(work / "platform", work / "platform.log", workers=0) as platform:
            keys = json.loads((platform.devdata / "secrets.json").read_text())
            env = {
                **os.environ,
                "ANB_DEV_MODE": "true",
                "ANB_DEVDATA_DIR": str(platform.devdata),
                "ANB_DB_URL": platform.db_url,
                "ANB_AWS_ENDPOINT_URL": platform.moto_url,
                "ANB_JWT_SECRET": keys["jwt_secret"],
                "ANB_INTERNAL_SECRET": keys["internal_secret"],
                "ANB_INGEST_URL": platform.ingest_url,
                "ANB_AUTH_RATE_LIMIT_PER_MINUTE": "1000000",
            }
            bench_dir = str(Path(__file__).parent)
            uncached_env = {**env, "ANB_LISTING_CACHE_TTL_S": "0"}
            with (
                serve("anb_gateway.app:create_app", env, work / "gateway.log") as gateway,
                serve("anb_gateway.app:create_app", uncached_env, work / "uncached.log") as uncached,
                serve("gateway.hello:create_app", env, work / "hello.log", app_dir=bench_dir) as hello,
            ):
                token, user_id = asyncio.run(bench_user(gateway, platform.db_url))
                results.update(auth_get_ratio(gateway, uncached, hello, token))
                say("seeding 100k players and 1M votes")
                started = time.monotonic()
                counts = asyncio.run(
                    seed.seed(platform.db_url.replace("postgresql+asyncpg://", "postgresql://"))
                )
                say(
                    f"seeded {counts['players']:,} players, {counts['votes']:,} votes"
                    f" in {time.monotonic() - started:.0f} s"
                )
                results.update(counts)
                results.update(rankings(gateway))
                results.update(gallery(gateway))
                aws = Aws(platform.aws)
                results.update(
                    asyncio.run(
                        proxy(
                            gateway, platform.ingest_url, token, user_id, keys["internal_secret"], aws, work
                        )
                    )
                )
                results["proxy_target"] = "real ingest"
                results.update(asyncio.run(events_fanout(gateway, token, user_id, platform.db_url)))
    results["load_avg_1m_end"] = round(os.getloadavg()[0], 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    headline = {
        key: results[key]
        for key in (
            "auth_get_over_bare",
            "rankings_p95_ms",
            "rankings_rps_50",
            "gallery_p95_ms",
            "proxy_throughput_ratio",
            "proxy_rss_growth_mb",
            "events_fanout_p95_ms",
        )
    }
    print(json.dumps(headline), flush=True)


if __name__ == "__main__":
    main()
