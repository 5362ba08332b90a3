"""The poster (anb_transcoder.poster): the sharpest lively frame of the footage, never a card, never
black, flat or blurred, within the contract's size; chosen from the frames the encoder sees."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from derivativekit import BRAND, Rgb, black, blurred, difference, jpeg_rgb, output_frames, texture, write_clip

from anb_transcoder.graph import Layout
from anb_transcoder.pipeline import TranscodeResult, transcode
from anb_transcoder.poster import POSTER_MAX_BYTES, PosterPicker
from anb_transcoder.settings import ProcessingSettings

WIDTH, HEIGHT = 1280, 720
FPS = 2
"""Two pictures a second: each frame is its own picture, and the picker scores every one (it scores
a frame each half second of footage)."""
BLACK_FRAMES, BLURRED_BEFORE, BLURRED_AFTER = 6, 6, 5


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> tuple[TranscodeResult, Path, Path]:
    """Three black seconds, then blurred pictures (bright and varied, only soft) with one sharp
    picture among them."""
    folder = tmp_path_factory.mktemp("poster")
    pictures = [
        *[black(WIDTH, HEIGHT)] * BLACK_FRAMES,
        *[blurred(texture(10 + index, WIDTH, HEIGHT, block=32), 6) for index in range(BLURRED_BEFORE)],
        texture(1, WIDTH, HEIGHT),
        *[blurred(texture(20 + index, WIDTH, HEIGHT, block=32), 6) for index in range(BLURRED_AFTER)],
    ]
    src = write_clip(folder / "src.mp4", pictures, FPS)
    dst = folder / "out.mp4"
    result = transcode(src, dst, BRAND, ProcessingSettings(), derivatives=folder / "derivatives")
    return result, dst, folder


def test_the_poster_is_the_sharp_frame_not_a_black_blurred_or_card_one(
    job: tuple[TranscodeResult, Path, Path],
) -> None:
    result, dst, folder = job
    assert result.derivatives is not None
    poster = jpeg_rgb(result.derivatives.poster.read_bytes(), folder / "poster.jpg")
    assert poster.shape == (HEIGHT, WIDTH, 3)
    frames = output_frames(dst)
    sharp = result.card_frames + BLACK_FRAMES + BLURRED_BEFORE
    distances = [difference(poster, frame) for frame in frames]
    # The output frame itself, through JPEG; every other frame (cards included) is far from it.
    assert distances[sharp] < 20
    assert min(distances[:sharp] + distances[sharp + 1 :]) > 2 * distances[sharp]


def test_the_poster_fits_the_contract_s_size(job: tuple[TranscodeResult, Path, Path]) -> None:
    result, _, _ = job
    assert result.derivatives is not None
    # Random detail everywhere: the first quality tried makes a bigger file, so a coarser one is used.
    assert 0 < result.derivatives.poster.stat().st_size <= POSTER_MAX_BYTES


def _frame(picture: Rgb) -> av.VideoFrame:
    return av.VideoFrame.from_ndarray(picture, format="rgb24").reformat(format="yuv420p")


def test_dark_and_flat_frames_lose_to_any_lively_one_however_sharp() -> None:
    """A frame of fine noise in the dark is sharp, but too dark to show; a grey wall is flat."""
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 24, (HEIGHT, WIDTH, 3)).astype(np.uint8)
    grey = np.full((HEIGHT, WIDTH, 3), 128, dtype=np.uint8)
    soft = blurred(texture(5, WIDTH, HEIGHT, block=32), 8)
    picker = PosterPicker(Fraction(FPS), Layout(WIDTH, HEIGHT, 0, 0), Layout(200, 80, 1056, 616))
    for index, picture in enumerate([noise, grey, soft, grey]):
        picker.offer(_frame(picture), index)
    best = picker.best
    assert best is not None
    assert difference(best.to_ndarray(format="rgb24"), soft) < 5


def test_the_watermark_and_the_bars_do_not_count() -> None:
    """Portrait footage between black bars: a grey wall is flat even with a sharp watermark on it and
    sharp edges against the bars (counted, both would make it look lively and sharp), so it loses
    to a soft but lively frame."""
    footage, watermark = Layout(404, 720, 438, 0), Layout(200, 80, 618, 616)
    wall = black(WIDTH, HEIGHT)
    wall[:, footage.x : footage.x + footage.width] = 128
    squares = np.indices((watermark.height, watermark.width)).sum(axis=0) // 4 % 2 * 255
    wall[watermark.y : watermark.y + watermark.height, watermark.x : watermark.x + watermark.width] = squares[
        ..., None
    ]
    soft = black(WIDTH, HEIGHT)
    soft[:, footage.x : footage.x + footage.width] = blurred(texture(8, footage.width, HEIGHT, block=32), 8)
    picker = PosterPicker(Fraction(FPS), footage, watermark)
    picker.offer(_frame(wall), 0)
    picker.offer(_frame(soft), 1)
    best = picker.best
    assert best is not None
    assert difference(best.to_ndarray(format="rgb24"), soft) < 5


def test_only_one_frame_each_half_second_is_scored() -> None:
    picker = PosterPicker(Fraction(30), Layout(WIDTH, HEIGHT, 0, 0), Layout(200, 80, 1056, 616))
    sharp = texture(9, WIDTH, HEIGHT)
    soft = blurred(sharp, 6)
    # The sharp picture falls between two sampled frames (0 and 15): the soft one stays.
    for index, picture in enumerate([soft, sharp, sharp, soft]):
        picker.offer(_frame(picture), index)
    best = picker.best
    assert best is not None
    assert difference(best.to_ndarray(format="rgb24"), soft) < 5


def test_footage_with_nothing_to_show_still_gets_a_poster_of_its_own_never_a_card(tmp_path: Path) -> None:
    """All black: any card would score better, but the poster comes from the footage."""
    src = write_clip(tmp_path / "src.mp4", [black(WIDTH, HEIGHT)] * 4, FPS)
    dst = tmp_path / "out.mp4"
    result = transcode(src, dst, BRAND, ProcessingSettings(), derivatives=tmp_path / "derivatives")
    assert result.derivatives is not None
    poster = jpeg_rgb(result.derivatives.poster.read_bytes(), tmp_path / "poster.jpg")
    distances = [difference(poster, frame) for frame in output_frames(dst)]
    nearest = distances.index(min(distances))
    assert result.card_frames <= nearest < result.card_frames + result.footage_frames
    assert distances[0] > 10
    assert distances[-1] > 10
