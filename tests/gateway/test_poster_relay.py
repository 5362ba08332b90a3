"""``POST /api/videos/{id}/poster`` through the gateway to the real ingest process (both uvicorn
processes, the session's moto and PostgreSQL): the pick answers the new poster's link and the detail
hands it out; every refusal is the contract's status with a Spanish ``detail`` naming the rule, and
changes nothing; ingest down is a 503 with Retry-After."""

from __future__ import annotations

import io
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import av
import httpx
import pytest

from anb_common.aws import Aws
from anb_common.db.models import VideoStatus
from anb_devstack.clips import make_clip
from anb_gateway import wording
from gateway.conftest import Gateway, Player, Videos
from gateway.real_ingest import gateway_over_real_ingest, queue_of_its_own, stop_ingest

FOOTAGE = (1.0, 3.0)
"""Where the player's footage lies in the 5 s MP4 below (start, length)."""


@pytest.fixture(scope="module")
async def own_queue(aws: Aws) -> str:
    return await queue_of_its_own(aws, "gateway-posters")


@pytest.fixture(scope="module")
def real_ingest(
    gateway_env: dict[str, str], session_tmp: Path, own_queue: str
) -> Iterator[tuple[Gateway, Gateway]]:
    with gateway_over_real_ingest(gateway_env, own_queue, session_tmp, "gateway-posters") as pair:
        yield pair


@pytest.fixture(scope="module")
async def through(real_ingest: tuple[Gateway, Gateway]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=real_ingest[0].url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def processed_mp4(session_tmp: Path) -> bytes:
    path = make_clip(
        session_tmp / "gateway-poster-processed.mp4",
        width=1280,
        height=720,
        seconds=5,
        fps=10,
        options={"x264-params": "keyint=20:min-keyint=20:scenecut=0"},
    )
    return path.read_bytes()


async def _processed(videos: Videos, owner: Player, mp4: bytes, *, footage: bool = True) -> uuid.UUID:
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSED, processed=mp4)
    await videos.derive(video_id, poster=b"the worker's poster", footage=FOOTAGE if footage else None)
    return video_id


async def _poster(client: httpx.AsyncClient, owner: Player, video_id: uuid.UUID) -> bytes:
    detail = (await client.get(f"/api/videos/{video_id}", headers=owner.auth)).json()
    async with httpx.AsyncClient() as plain:
        return (await plain.get(detail["poster_url"])).content


async def test_the_owner_picks_the_poster_and_the_detail_hands_it_out(
    through: httpx.AsyncClient, owner: Player, videos: Videos, processed_mp4: bytes
) -> None:
    video_id = await _processed(videos, owner, processed_mp4)
    response = await through.post(f"/api/videos/{video_id}/poster", json={"time_s": 2.5}, headers=owner.auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "Portada actualizada."
    async with httpx.AsyncClient() as plain:
        jpeg = (await plain.get(body["poster_url"])).content
    with av.open(io.BytesIO(jpeg), format="image2pipe") as picture:
        frame = next(picture.decode(video=0))
    assert (frame.width, frame.height, len(jpeg) <= 100_000) == (1280, 720, True)
    assert await _poster(through, owner, video_id) == jpeg


@pytest.mark.parametrize(
    ("case", "pick", "status", "detail"),
    [
        ("at the footage's end", {"time_s": 3.0}, 400, wording.poster_out_of_range(3.0)),
        ("before the footage", {"time_s": -1}, 400, wording.poster_out_of_range(3.0)),
        ("another player's video", {"time_s": 1.0}, 403, wording.NOT_YOURS),
        ("not processed", {"time_s": 1.0}, 400, wording.NOT_PROCESSED_YET),
        ("no footage bounds", {"time_s": 1.0}, 400, wording.POSTER_NOT_YET),
        ("no such video", {"time_s": 1.0}, 404, wording.VIDEO_NOT_FOUND),
    ],
)
async def test_a_refused_pick_names_the_rule_and_changes_nothing(
    through: httpx.AsyncClient,
    owner: Player,
    other: Player,
    videos: Videos,
    processed_mp4: bytes,
    case: str,
    pick: dict[str, float],
    status: int,
    detail: str,
) -> None:
    if case == "not processed":
        video_id = await videos.add(owner.user_id, VideoStatus.PROCESSING)
    else:
        video_id = await _processed(videos, owner, processed_mp4, footage=case != "no footage bounds")
    caller = other if case == "another player's video" else owner
    target = uuid.uuid4() if case == "no such video" else video_id
    response = await through.post(f"/api/videos/{target}/poster", json=pick, headers=caller.auth)
    assert (response.status_code, response.json()) == (status, {"status_code": status, "detail": detail})
    if case != "not processed":
        assert await _poster(through, owner, video_id) == b"the worker's poster"


async def test_a_pick_without_time_s_is_400_without_reaching_ingest(
    through: httpx.AsyncClient, owner: Player, videos: Videos, processed_mp4: bytes
) -> None:
    video_id = await _processed(videos, owner, processed_mp4)
    response = await through.post(f"/api/videos/{video_id}/poster", json={"at": 1}, headers=owner.auth)
    assert response.status_code == 400
    assert await _poster(through, owner, video_id) == b"the worker's poster"


async def test_ingest_down_is_503_with_retry_after(
    through: httpx.AsyncClient,
    real_ingest: tuple[Gateway, Gateway],
    owner: Player,
    videos: Videos,
    processed_mp4: bytes,
) -> None:
    """Last in this module: it stops the module's ingest."""
    video_id = await _processed(videos, owner, processed_mp4)
    stop_ingest(real_ingest[1])
    response = await through.post(f"/api/videos/{video_id}/poster", json={"time_s": 1.0}, headers=owner.auth)
    assert response.status_code == 503
    assert response.json()["detail"] == wording.POSTERS_UNAVAILABLE
    assert response.headers["retry-after"] == "10"
    assert await _poster(through, owner, video_id) == b"the worker's poster"
