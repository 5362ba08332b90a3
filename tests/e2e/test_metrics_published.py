"""The figures the platform publishes, read back from (moto's) CloudWatch after a real upload and
transcode: the platform as `make run` starts it, publishing every 2 s. One upload accepted with its
bytes, one refused by its rule, one job with its queue wait, transcode and end-to-end times, the
request figures by status class and route, and every service ready."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from anb_common.aws import Aws
from anb_devstack import running
from anb_devstack.clips import make_clip
from anb_devstack.running import RunningPlatform
from anb_devstack.stats import Figure, read_figures, render

BOUNDARY = "anb-metrics-boundary"
PASSWORD = "clave-segura-2026"
SMALL = {"preset": "ultrafast", "crf": "51"}


@pytest.fixture(scope="module")
def platform(session_tmp: Path) -> Iterator[RunningPlatform]:
    # Its own platform (its own moto): the figures are this test's alone.
    env = {"ANB_METRICS_PUBLISH": "true", "ANB_METRICS_INTERVAL_S": "2"}
    try:
        with running.platform(
            session_tmp / "metrics-platform", session_tmp / "metrics-platform.log", extra_env=env
        ) as started:
            yield started
    except running.PlatformFailed as exc:
        pytest.fail(str(exc))


def _form(title: str, video: bytes) -> bytes:
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="title"\r\n\r\n{title}\r\n'.encode(),
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="video_file"; filename="c.mp4"\r\n'.encode()
        + b"Content-Type: video/mp4\r\n\r\n"
        + video
        + b"\r\n",
    ]
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


async def _processed(client: httpx.AsyncClient, auth: dict[str, str], video_id: str) -> None:
    deadline = time.monotonic() + 300
    while (await client.get(f"/videos/{video_id}", headers=auth)).json()["status"] != "processed":
        assert time.monotonic() < deadline, "the video was not processed in 300 s"
        await asyncio.sleep(0.5)


def _one(figures: list[Figure], metric: str, **dimensions: str) -> Figure:
    wanted = tuple(sorted(dimensions.items()))
    (found,) = [f for f in figures if f.metric == metric and f.dimensions == wanted] or [None]
    assert found is not None, f"no {metric} {dimensions} in\n{render(figures)}"
    return found


async def test_the_figures_of_one_upload_and_its_job(platform: RunningPlatform, tmp_path: Path) -> None:
    since = datetime.now(UTC) - timedelta(minutes=5)
    good = make_clip(tmp_path / "good.mp4", seconds=20.5, fps=2, options=SMALL).read_bytes()
    short = make_clip(tmp_path / "short.mp4", seconds=5, fps=2, options=SMALL).read_bytes()
    multipart = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    async with httpx.AsyncClient(base_url=platform.api, timeout=120) as client:
        email = f"metricas.{uuid.uuid4().hex[:8]}@example.com"
        signup = {
            "first_name": "Eva", "last_name": "Ríos", "email": email, "password1": PASSWORD,
            "password2": PASSWORD, "city": "Cali", "country": "Colombia",
        }  # fmt: skip
        assert (await client.post("/auth/signup", json=signup)).status_code == 201
        login = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        refused = await client.post(
            "/videos/upload", content=_form("Corta", short), headers={**auth, **multipart}
        )
        assert refused.status_code == 400
        accepted = await client.post(
            "/videos/upload", content=_form("Jugada", good), headers={**auth, **multipart}
        )
        assert accepted.status_code == 202, accepted.text
        await _processed(client, auth, accepted.json()["video_id"])

    aws = Aws(platform.aws)
    deadline = time.monotonic() + 120
    while True:
        figures = await read_figures(aws, since)
        done = [f for f in figures if f.metric == "JobsProcessed"]
        if done or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    print(render(figures))

    assert _one(figures, "UploadsAccepted").total == 1
    assert _one(figures, "UploadBytes").total == len(good)
    assert _one(figures, "UploadsRefused", Rule="duration").total == 1
    assert _one(figures, "UploadsRefused").total == 1
    assert _one(figures, "UploadLatency").count == 2
    assert _one(figures, "JobsProcessed").total == 1
    transcode = _one(figures, "TranscodeTime")
    assert transcode.count == 1
    assert transcode.total > 0
    assert _one(figures, "JobQueueWait").count == 1
    assert _one(figures, "EndToEndTime").total >= transcode.total
    assert _one(figures, "RequestLatency", Route="upload").count == 2
    assert _one(figures, "Requests", StatusClass="2xx").total >= 4  # signup, login, 202, the polls
    assert _one(figures, "Requests", StatusClass="4xx").total >= 1
    for service in ("gateway", "ingest", "transcoder"):
        assert _one(figures, "Ready", Service=service).maximum == 1
    assert not [f for f in figures if f.metric in ("JobsFailed", "JobsDeadLettered", "JobRetries")]
