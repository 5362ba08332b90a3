"""The owner's poster pick in ingest, through its route against the session's moto and PostgreSQL and a
real processed MP4: the poster is the frame on screen at the footage's start plus the moment picked
(compared by pixels), a 1280x720 JPEG within the limit, stored under a new version's key with the old
one removed; every refusal changes nothing."""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest
from ingest_support import INTERNAL_SECRET
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common import identity, keys, poster_api
from anb_common.aws import Aws
from anb_common.db.models import Video, VideoStatus
from anb_common.poster_api import PosterRule

FPS = 10
SECONDS = 6
FOOTAGE_START_S, FOOTAGE_S = 1.0, 4.0
"""Where the player's footage lies in the processed MP4 (the rest stands for the cards)."""

Rgb = npt.NDArray[Any]


def _pictures() -> list[Rgb]:
    """One distinct random-block picture per frame: a frame matches itself far better than any other."""
    generator = np.random.default_rng(17)
    blocks = generator.integers(0, 256, size=(SECONDS * FPS, 45, 80, 3), dtype=np.uint8)
    return [block.repeat(16, axis=0).repeat(16, axis=1) for block in blocks]


@pytest.fixture(scope="module")
def processed_mp4(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[Rgb]]:
    """A processed MP4 as the transcoder makes it (1280x720 H.264, a keyframe every 2 s) and its
    frames as decoded."""
    path = tmp_path_factory.mktemp("poster") / "processed.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.options = {
            "preset": "ultrafast",
            "crf": "18",
            "x264-params": "keyint=20:min-keyint=20:scenecut=0",
        }
        for index, picture in enumerate(_pictures()):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, FPS)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with av.open(str(path)) as media:
        decoded = [frame.to_ndarray(format="rgb24") for frame in media.decode(video=0)]
    return path.read_bytes(), decoded


def _jpeg(data: bytes) -> av.VideoFrame:
    with av.open(io.BytesIO(data), format="image2pipe") as media:
        return next(media.decode(video=0))


def _difference(a: Rgb, b: Rgb) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


Add = Callable[..., Any]


@pytest.fixture
def add_video(
    sessions: async_sessionmaker[AsyncSession], aws: Aws, user_id: uuid.UUID, processed_mp4: tuple[bytes, Any]
) -> Add:
    async def add(*, status: VideoStatus = VideoStatus.PROCESSED, bounds: bool = True) -> uuid.UUID:
        video_id = uuid.uuid4()
        done = status is VideoStatus.PROCESSED
        async with aws.s3() as s3:
            bucket = aws.settings.bucket
            await s3.put_object(Bucket=bucket, Key=keys.processed_key(video_id), Body=processed_mp4[0])
            await s3.put_object(Bucket=bucket, Key=keys.poster_key(video_id, 0), Body=b"chosen by the worker")
        async with sessions.begin() as session:
            session.add(
                Video(
                    id=video_id, user_id=user_id, title="Gol olímpico", status=status,
                    original_key=keys.upload_key(video_id, "mp4"), container="mp4", codec="h264",
                    size_bytes=1, duration_s=30.0, width=1920, height=1080, checksum_sha256="0" * 64,
                    processed_key=keys.processed_key(video_id) if done else None,
                    processed_at=datetime.now(UTC) if done else None,
                    poster_key=keys.poster_key(video_id, 0) if done else None,
                    footage_start_s=FOOTAGE_START_S if bounds else None,
                    footage_s=FOOTAGE_S if bounds else None,
                )
            )  # fmt: skip
        return video_id

    return add


async def _pick(
    client: AsyncTestClient[Litestar], video_id: uuid.UUID, user_id: uuid.UUID, time_s: float
) -> tuple[int, Any]:
    path = poster_api.path(video_id)
    token = identity.sign(user_id, INTERNAL_SECRET, method="POST", path=path)
    body = poster_api.encode(poster_api.PosterPick(time_s))
    response = await client.post(path, content=body, headers={identity.HEADER: token})
    return response.status_code, response.json()


async def _state(
    sessions: async_sessionmaker[AsyncSession], aws: Aws, video_id: uuid.UUID
) -> tuple[Any, ...]:
    async with sessions() as session:
        row = await session.get(Video, video_id)
    assert row is not None
    async with aws.s3() as s3:
        listed = await s3.list_objects_v2(
            Bucket=aws.settings.bucket, Prefix=keys.derivatives_prefix(video_id)
        )
    return row.poster_key, row.poster_version, sorted(item["Key"] for item in listed.get("Contents", []))


async def test_the_poster_is_the_frame_at_the_moment_of_the_footage(
    client: AsyncTestClient[Litestar],
    add_video: Add,
    user_id: uuid.UUID,
    sessions: async_sessionmaker[AsyncSession],
    aws: Aws,
    processed_mp4: tuple[bytes, list[Rgb]],
) -> None:
    video_id = await add_video()
    # 1.25 s into the footage is 2.25 s into the MP4: frame 22 (2.2 s) is on screen.
    status, body = await _pick(client, video_id, user_id, 1.25)
    assert status == 200, body
    new_key = keys.poster_key(video_id, 1)
    assert body == {"poster_key": new_key}
    assert await _state(sessions, aws, video_id) == (new_key, 1, [new_key])
    async with aws.s3() as s3:
        stored = await (await s3.get_object(Bucket=aws.settings.bucket, Key=new_key))["Body"].read()
    assert len(stored) <= 100_000
    picture = _jpeg(stored)
    assert (picture.width, picture.height) == (1280, 720)
    differences = [_difference(picture.to_ndarray(format="rgb24"), frame) for frame in processed_mp4[1]]
    assert int(np.argmin(differences)) == 22, differences[18:27]
    # Picking again moves to the next version and removes this one.
    assert (await _pick(client, video_id, user_id, 0.0))[0] == 200
    assert await _state(sessions, aws, video_id) == (
        keys.poster_key(video_id, 2),
        2,
        [keys.poster_key(video_id, 2)],
    )


REFUSALS = [
    ("at the footage's end (the outro's first frame)", FOOTAGE_S, (400, PosterRule.OUT_OF_RANGE)),
    ("before the footage", -0.5, (400, PosterRule.OUT_OF_RANGE)),
    ("another player's video", 1.0, (403, PosterRule.NOT_OWNER)),
    ("a video not processed yet", 1.0, (400, PosterRule.NOT_PROCESSED)),
    ("a video processed before footage bounds were stored", 1.0, (400, PosterRule.NO_FOOTAGE_BOUNDS)),
    ("no such video", 1.0, (404, PosterRule.NOT_FOUND)),
]


async def test_a_refused_pick_changes_nothing(
    client: AsyncTestClient[Litestar],
    add_video: Add,
    user_id: uuid.UUID,
    sessions: async_sessionmaker[AsyncSession],
    aws: Aws,
) -> None:
    # One app for every case: each start forks ingest's PyAV server anew.
    for case, time_s, expected in REFUSALS:
        video_id = await add_video(
            status=VideoStatus.PROCESSING if "not processed" in case else VideoStatus.PROCESSED,
            bounds="bounds" not in case,
        )
        before = await _state(sessions, aws, video_id)
        caller = uuid.uuid4() if "another" in case else user_id
        target = uuid.uuid4() if "no such" in case else video_id
        status, body = await _pick(client, target, caller, time_s)
        assert (status, body["code"]) == expected, case
        if expected[1] is PosterRule.OUT_OF_RANGE:
            assert body["values"] == {"footage_s": FOOTAGE_S}
        assert await _state(sessions, aws, video_id) == before, case
    # Without the gateway's identity: 401, nothing changed.
    video_id = await add_video()
    before = await _state(sessions, aws, video_id)
    response = await client.post(
        poster_api.path(video_id), content=poster_api.encode(poster_api.PosterPick(1.0))
    )
    assert (response.status_code, response.json()["code"]) == (401, PosterRule.IDENTITY)
    assert await _state(sessions, aws, video_id) == before


def test_the_clip_has_distinct_frames(processed_mp4: tuple[bytes, list[Rgb]]) -> None:
    """What the pixel comparison above leans on: neighbouring frames are far apart."""
    frames = processed_mp4[1]
    assert len(frames) == SECONDS * FPS
    assert min(_difference(frames[i], frames[i + 1]) for i in range(len(frames) - 1)) > 40
