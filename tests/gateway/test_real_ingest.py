"""The upload path end to end with the real ingest process behind the gateway (both uvicorn processes):
a valid clip is accepted and listed, a bad file comes back as ingest's 400 in the gateway's words."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from anb_common.aws import Aws
from anb_common.reasons import Reason, UploadRule
from anb_devstack.clips import make_clip
from anb_devstack.moto import free_port
from anb_gateway import wording
from gateway.conftest import Gateway, Player, start_gateway, stop_gateway
from gateway.test_upload import BOUNDARY, form, headers


@pytest.fixture(scope="module")
async def own_queue(aws: Aws) -> str:
    # Its own queue, so that the jobs these uploads enqueue are never seen by other suites' consumers.
    name = f"gateway-real-ingest-{uuid.uuid4().hex[:8]}"
    async with aws.sqs() as sqs:
        await sqs.create_queue(QueueName=name)
    return name


@pytest.fixture(scope="module")
def real_ingest(
    gateway_env: dict[str, str], session_tmp: Path, own_queue: str
) -> Iterator[tuple[Gateway, Gateway]]:
    port = free_port()
    # The contract's default limits here (the shared gateway runs with small ones to test them).
    env = {key: value for key, value in gateway_env.items() if not key.startswith("ANB_UPLOAD_")}
    env |= {
        "ANB_AWS_QUEUE_NAME": own_queue,
        "ANB_INGEST_TEMP_DIR": str(session_tmp / "gateway-real-ingest-spool"),
    }
    log = session_tmp / "real-ingest.log"
    argv = [
        sys.executable, "-m", "uvicorn", "--factory", "--loop", "uvloop", "--host", "127.0.0.1",
        "--port", str(port), "anb_ingest.app:create_app",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(url + "/internal/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"ingest did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    gateway = start_gateway({**env, "ANB_INGEST_URL": url}, session_tmp / "gateway-real-ingest.log")
    yield gateway, Gateway(url, process, log)
    stop_gateway(gateway)
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
async def through(real_ingest: tuple[Gateway, Gateway]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=real_ingest[0].url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def clip(session_tmp: Path) -> bytes:
    # The smallest clip the rules accept: 20.5 s of 1080p at 2 frames/s.
    path = make_clip(session_tmp / "gateway-accepted.mp4", width=1920, height=1080, seconds=20.5, fps=2)
    return path.read_bytes()


async def test_a_valid_clip_is_accepted_and_listed(
    through: httpx.AsyncClient, owner: Player, clip: bytes
) -> None:
    body = form(clip, title="Clavada de prueba")
    response = await through.post("/api/videos/upload", content=body, headers=headers(owner, body))
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["message"] == "Video subido correctamente. Procesamiento en curso."
    assert accepted["task_id"] == accepted["video_id"]
    detail = await through.get(f"/api/videos/{accepted['video_id']}", headers=owner.auth)
    assert detail.status_code == 200
    assert detail.json()["title"] == "Clavada de prueba"
    assert detail.json()["status"] in {"uploaded", "processing"}
    listed = (await through.get("/api/videos", params={"limit": 100}, headers=owner.auth)).json()
    assert accepted["video_id"] in {item["video_id"] for item in listed}


async def test_a_file_that_is_not_a_video_gets_ingests_400(through: httpx.AsyncClient, owner: Player) -> None:
    body = form(b"this is not a video at all" * 100)
    response = await through.post("/api/videos/upload", content=body, headers=headers(owner, body))
    assert response.status_code == 400
    # Ingest answers a code; the player reads the gateway's Spanish, naming the accepted formats.
    assert response.json() == {
        "status_code": 400,
        "detail": wording.upload_refusal(Reason(UploadRule.NOT_A_VIDEO)),
    }
    assert "MP4" in response.json()["detail"]


async def test_missing_title_is_400(through: httpx.AsyncClient, owner: Player, clip: bytes) -> None:
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="video_file"; filename="a.mp4"\r\n'
            "Content-Type: video/mp4\r\n\r\n"
        ).encode()
        + clip
        + f"\r\n--{BOUNDARY}--\r\n".encode()
    )
    response = await through.post("/api/videos/upload", content=body, headers=headers(owner, body))
    assert response.status_code == 400
    missing = Reason(UploadRule.MISSING_FIELD, {"field": "title"})
    assert response.json() == {"status_code": 400, "detail": wording.upload_refusal(missing)}
