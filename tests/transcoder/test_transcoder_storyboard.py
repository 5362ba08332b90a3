"""The storyboard (anb_transcoder.storyboard): one thumbnail per second of the whole output, cards
included, in one sprite, and WebVTT cues covering the output without gaps."""

from __future__ import annotations

import itertools
import re
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from derivativekit import BRAND, Rgb, difference, jpeg_rgb, output_frames, texture, write_clip
from PIL import Image

from anb_common.keys import STORYBOARD_SPRITE
from anb_transcoder.pipeline import TranscodeResult, transcode
from anb_transcoder.settings import ProcessingSettings
from anb_transcoder.storyboard import TILE_HEIGHT, TILE_WIDTH, Storyboard

FPS = 10
_CUE = re.compile(
    r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d) --> (\d\d):(\d\d):(\d\d)\.(\d\d\d)\n"
    + re.escape(STORYBOARD_SPRITE)
    + r"#xywh=(\d+),(\d+),(\d+),(\d+)$"
)


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> tuple[TranscodeResult, Path, Path]:
    """5 s of footage whose every frame is a picture of its own, between the 2.5 s cards."""
    folder = tmp_path_factory.mktemp("storyboard")
    pictures = [texture(100 + index, 640, 360, block=64) for index in range(5 * FPS)]
    src = write_clip(folder / "src.mp4", pictures, FPS)
    dst = folder / "out.mp4"
    result = transcode(src, dst, BRAND, ProcessingSettings(), derivatives=folder / "derivatives")
    return result, dst, folder


def _cues(text: str) -> list[tuple[float, float, tuple[int, int, int, int]]]:
    assert text.startswith("WEBVTT\n\n")
    cues = []
    for block in text[len("WEBVTT\n\n") :].strip().split("\n\n"):
        found = _CUE.match(block)
        assert found, block
        h1, m1, s1, ms1, h2, m2, s2, ms2, x, y, w, h = map(int, found.groups())
        start = h1 * 3600 + m1 * 60 + s1 + ms1 / 1000
        end = h2 * 3600 + m2 * 60 + s2 + ms2 / 1000
        cues.append((start, end, (x, y, w, h)))
    return cues


def _shrunk(frame: Rgb) -> Rgb:
    """An independent thumbnail of an output frame (Pillow's box filter)."""
    return np.asarray(Image.fromarray(frame).resize((TILE_WIDTH, TILE_HEIGHT), Image.Resampling.BOX))


def test_cues_cover_the_whole_output_without_gaps_inside_the_sprite(
    job: tuple[TranscodeResult, Path, Path],
) -> None:
    result, _, folder = job
    assert result.derivatives is not None
    cues = _cues(result.derivatives.storyboard.read_text())
    assert result.duration_s == pytest.approx(10.0)
    assert len(cues) == 10
    assert cues[0][0] == 0
    assert cues[-1][1] == pytest.approx(result.duration_s, abs=0.001)
    for (_, end, _), (start, _, _) in itertools.pairwise(cues):
        assert start == end
    sprite = jpeg_rgb(result.derivatives.sprite.read_bytes(), folder / "sprite.jpg")
    height, width, _ = sprite.shape
    assert result.derivatives.sprite.name == STORYBOARD_SPRITE
    for start, end, (x, y, w, h) in cues:
        assert end > start
        assert (w, h) == (TILE_WIDTH, TILE_HEIGHT)
        assert x >= 0
        assert y >= 0
        assert x + w <= width
        assert y + h <= height


def test_the_thumbnail_of_each_second_is_the_frame_on_screen_then(
    job: tuple[TranscodeResult, Path, Path],
) -> None:
    result, dst, folder = job
    assert result.derivatives is not None
    sprite = jpeg_rgb(result.derivatives.sprite.read_bytes(), folder / "sprite.jpg")
    frames = [_shrunk(frame) for frame in output_frames(dst)]
    for start, _, (x, y, w, h) in _cues(result.derivatives.storyboard.read_text()):
        tile = sprite[y : y + h, x : x + w]
        shown = round(start * FPS)
        distances = [difference(tile, frame) for frame in frames]
        assert distances[shown] < 12, (start, distances[shown])
        # Not the frame before or after it (the cards' frames are all alike, the footage's never).
        if result.card_frames < shown < result.card_frames + result.footage_frames - 1:
            assert min(distances[shown - 1], distances[shown + 1]) > 2 * distances[shown]


def test_a_slide_show_below_one_frame_a_second_repeats_a_frame_for_each_second() -> None:
    board = Storyboard(Fraction(1, 2))
    for index in range(3):  # 6 s: frames at 0, 2 and 4 s
        board.frame(av.VideoFrame.from_ndarray(texture(index, 320, 180), format="rgb24"))
    cues = _cues(board.webvtt())
    assert [(start, end) for start, end, _ in cues] == [(index, index + 1) for index in range(6)]


def test_a_rate_of_thousandths_ends_the_last_cue_at_the_output_s_end() -> None:
    board = Storyboard(Fraction(30000, 1001))
    board.still(np.zeros((TILE_HEIGHT, TILE_WIDTH, 3), dtype=np.uint8), 100)  # 3.3367 s
    cues = _cues(board.webvtt())
    assert [start for start, _, _ in cues] == [0, 1, 2, 3]
    assert cues[-1][1] == pytest.approx(3.337)
