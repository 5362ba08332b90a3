"""The backfill (anb_transcoder.backfill): videos processed before derivatives existed get them from
their MP4, remuxed for HLS when its keyframes allow it and encoded again when they do not."""

from __future__ import annotations

import hashlib
import math
import uuid
from fractions import Fraction
from pathlib import Path

import av
import m3u8
import pytest
from derivativekit import BRAND, blurred, difference, jpeg_rgb, output_frames, texture
from sqlalchemy import func, update
from workerkit import Seeder

from anb_common import keys
from anb_common.db.models import Video
from anb_devstack.brand import ASSETS_DIR
from anb_devstack.invariants import Scope, output_problems
from anb_transcoder.backfill import Backfill, backfill
from anb_transcoder.brand import load_card
from anb_transcoder.brand_cache import BrandCache
from anb_transcoder.encoder import Encoder
from anb_transcoder.pipeline import transcode
from anb_transcoder.settings import ProcessingSettings, WorkerSettings
from anb_transcoder.storage import Storage
from anb_transcoder.videos import VideoStore
from anb_transcoder.x264 import KEYFRAME_INTERVAL_S, OutputFormat

FPS = 25
CARD_FRAMES = 62
"""2.5 s at 25 fps, as the default card_s makes them."""
SHARP = range(24, 37)
"""Footage frames showing the sharp picture (one of them is scored: one every 12)."""


def _old_style_mp4(path: Path) -> Path:
    """An MP4 as the transcoder wrote them before #17: cards around the footage, x264's default
    keyframe interval (250 frames: one keyframe per piece here)."""
    old = OutputFormat(Fraction(FPS), 1280, 720, "veryfast", 23, keyint=250)
    with Encoder(path, old, lambda _: None, None) as encoder:
        for _ in range(CARD_FRAMES):
            encoder.frame(load_card(ASSETS_DIR / "intro.png", 1280, 720))
        for index in range(75):
            picture = (
                texture(1, 1280, 720)
                if index in SHARP
                else blurred(texture(50 + index // 25, 1280, 720, 32), 6)
            )
            encoder.frame(av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p"))
        for _ in range(CARD_FRAMES):
            encoder.frame(load_card(ASSETS_DIR / "outro.png", 1280, 720))
    return path


async def _processed_long_ago(seeder: Seeder, mp4: Path) -> uuid.UUID:
    video_id = await seeder.video(mp4, upload=False)
    key = keys.processed_key(video_id)
    async with seeder.sessions.begin() as session:
        await session.execute(
            update(Video)
            .where(Video.id == video_id)
            .values(status="processed", processed_key=key, processed_at=func.now())
        )
    async with seeder.aws.s3() as s3:
        await s3.put_object(Bucket=seeder.aws.settings.bucket, Key=key, Body=mp4.read_bytes())
    return video_id


def _hashes(source: Path | str) -> list[str]:
    with av.open(str(source)) as media:
        return [hashlib.sha256(frame.to_ndarray().tobytes()).hexdigest() for frame in media.decode(video=0)]


async def _fetch(seeder: Seeder, key: str, path: Path) -> Path:
    async with seeder.aws.s3() as s3:
        response = await s3.get_object(Bucket=seeder.aws.settings.bucket, Key=key)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(await response["Body"].read())
    return path


async def _fetch_rendition(seeder: Seeder, video_id: uuid.UUID, folder: Path) -> Path:
    playlist = await _fetch(seeder, keys.hls_playlist_key(video_id), folder / "index.m3u8")
    parsed = m3u8.load(str(playlist))
    for name in [parsed.segment_map[0].uri, *(segment.uri for segment in parsed.segments)]:
        await _fetch(seeder, keys.hls_prefix(video_id) + name, folder / name)
    return playlist


def _scope(settings: WorkerSettings) -> Scope:
    return Scope(aws=settings.aws, db_url=settings.db.url, temp_dir=settings.processing.temp_dir)


async def test_an_old_mp4_gets_its_derivatives_and_hls_encoded_again(
    worker_settings: WorkerSettings, seeder: Seeder, tmp_path: Path
) -> None:
    mp4 = _old_style_mp4(tmp_path / "old.mp4")
    video_id = await _processed_long_ago(seeder, mp4)
    async with seeder.aws.s3() as s3:
        storage = Storage(s3, worker_settings.aws.bucket)
        videos = VideoStore(seeder.sessions)
        brand = BrandCache(storage, worker_settings.processing.temp_dir)
        run = Backfill(worker_settings, storage, videos, brand)
        pending = next(item for item in await videos.without_derivatives(10_000) if item.video_id == video_id)
        await run.one(pending)
        brand.remove()
    assert (run.tally.done, run.tally.reencoded) == (1, 1)
    row = await seeder.row(video_id)
    assert row is not None
    assert (row.poster_key, row.storyboard_key, row.hls_key) == (
        keys.poster_key(video_id, 0),
        keys.storyboard_key(video_id),
        keys.hls_playlist_key(video_id),
    )
    # Where the footage lies, so that the owner can pick the poster: between the cards.
    assert row.footage_start_s == pytest.approx(CARD_FRAMES / FPS)
    assert row.footage_s == pytest.approx(75 / FPS)
    assert await output_problems(_scope(worker_settings), [video_id]) == []
    # The poster is the sharp footage frame, not a card (the cards are sharper than the blur).
    frames = output_frames(mp4)
    poster = jpeg_rgb(
        (await _fetch(seeder, row.poster_key, tmp_path / "poster.jpg")).read_bytes(), tmp_path / "p.jpg"
    )
    distances = [difference(poster, frame) for frame in frames]
    assert distances.index(min(distances)) in range(CARD_FRAMES + SHARP.start, CARD_FRAMES + SHARP.stop)
    # A cue a second; HLS of 2 s segments at most, as long as the MP4, frame for frame.
    vtt = (await _fetch(seeder, row.storyboard_key, tmp_path / "storyboard.vtt")).read_text()
    assert vtt.count(" --> ") == math.ceil(len(frames) / FPS)
    playlist = m3u8.load(str(await _fetch_rendition(seeder, video_id, tmp_path / "hls")))
    assert all(segment.duration <= KEYFRAME_INTERVAL_S for segment in playlist.segments)
    assert sum(segment.duration for segment in playlist.segments) == pytest.approx(len(frames) / FPS, abs=0.1)
    assert len(_hashes(tmp_path / "hls" / "index.m3u8")) == len(frames)


async def test_a_new_style_mp4_is_remuxed_and_the_command_leaves_no_video_behind(
    worker_settings: WorkerSettings, seeder: Seeder, small_clip: Path, tmp_path: Path
) -> None:
    mp4 = tmp_path / "new.mp4"
    transcode(small_clip, mp4, BRAND, ProcessingSettings())
    video_id = await _processed_long_ago(seeder, mp4)
    tally = await backfill(worker_settings, limit=100_000)
    assert tally.done >= 1
    row = await seeder.row(video_id)
    assert row is not None
    assert row.hls_key == keys.hls_playlist_key(video_id)
    assert await output_problems(_scope(worker_settings), [video_id]) == []
    # Remuxed: the rendition is the MP4's very frames.
    assert _hashes(await _fetch_rendition(seeder, video_id, tmp_path / "hls")) == _hashes(mp4)
    assert video_id not in {
        item.video_id for item in await VideoStore(seeder.sessions).without_derivatives(10_000)
    }
