"""The upload path end to end with the real ingest process behind the gateway (both uvicorn processes):
a valid clip is accepted and listed, a bad file comes back as ingest's 400 in the gateway's words."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from anb_common.aws import Aws
from anb_common.reasons import Reason, UploadRule
from anb_devstack.clips import make_clip
from anb_gateway import wording
from gateway.conftest import Gateway, Player
from gateway.real_ingest import gateway_over_real_ingest, queue_of_its_own
from gateway.test_upload import BOUNDARY, form, headers


@pytest.fixture(scope="module")
async def own_queue(aws: Aws) -> str:
    return await queue_of_its_own(aws, "gateway-real-ingest")


@pytest.fixture(scope="module")
def real_ingest(
    gateway_env: dict[str, str], session_tmp: Path, own_queue: str
) -> Iterator[tuple[Gateway, Gateway]]:
    with gateway_over_real_ingest(gateway_env, own_queue, session_tmp, "gateway-real-ingest") as pair:
        yield pair


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
