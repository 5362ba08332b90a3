"""The PyAV pipeline on real clips: output format, framing, rotation, watermark, cards, safety."""

from __future__ import annotations

import shutil
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image

from anb_common.reasons import ProcessingFailure, Reason
from anb_devstack.brand import ASSETS_DIR
from anb_devstack.clips import make_avi_hls_bait, make_clip, make_hls_bait, make_mov_dref_bait, watch_opens
from anb_transcoder.brand import BrandAssets
from anb_transcoder.graph import Layout, fit
from anb_transcoder.pipeline import Cancelled, UnprocessableVideo, transcode
from anb_transcoder.settings import ProcessingSettings

BRAND = BrandAssets(ASSETS_DIR / "logo.png", ASSETS_DIR / "intro.png", ASSETS_DIR / "outro.png")
# Short cards keep the suite fast; the output rate and geometry are those of production.
FAST = ProcessingSettings(card_s=0.5, max_output_s=30.0)
BLACK = 0
"""Black in the full-range grey pictures we compare (bars may wobble a few levels after compression)."""


Luma = npt.NDArray[Any]


@dataclass(frozen=True)
class _Stream:
    """What the tests read of the output's video stream, read while its file is open (PyAV 19 raises
    on a stream of a closed container)."""

    codec: str
    width: int
    height: int
    pix_fmt: str | None
    sample_aspect_ratio: Fraction | None
    average_rate: Fraction | None


def _probe(path: Path) -> tuple[_Stream, list[Luma], list[str], float]:
    """(video stream, luma planes, stream types, duration in seconds)."""
    with av.open(str(path)) as media:
        video = media.streams.video[0]
        stream = _Stream(
            video.codec_context.name,
            video.width,
            video.height,
            video.codec_context.pix_fmt,
            video.sample_aspect_ratio,
            video.average_rate,
        )
        lumas: list[Luma] = [frame.to_ndarray(format="gray") for frame in media.decode(video)]
        types: list[str] = [s.type for s in media.streams]
        duration = float(media.duration or 0) / av.time_base
    return stream, lumas, types, duration


def _top_level_boxes(path: Path) -> list[str]:
    boxes, data = [], path.read_bytes()
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        if size == 1:
            size = struct.unpack(">Q", data[at + 8 : at + 16])[0]
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break
        at += size
    return boxes


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="module")
def landscape(clips: Path) -> tuple[Path, Path]:
    """A 16:9 clip with audio, and its processed output."""
    src = make_clip(clips / "wide.mp4", width=640, height=360, seconds=3.0, fps=10, audio=True)
    dst = clips / "wide-out.mp4"
    transcode(src, dst, BRAND, FAST)
    return src, dst


def _bars(luma: Luma) -> dict[str, float]:
    """Mean luma of 40-pixel strips at each edge of a 1280x720 picture."""
    return {
        "left": float(luma[:, :40].mean()),
        "right": float(luma[:, -40:].mean()),
        "top": float(luma[:40, 200:1000].mean()),
        "bottom": float(luma[-40:, 200:1000].mean()),
    }


@pytest.mark.parametrize(
    ("display", "layout"),
    [
        ((1920, 1080), Layout(1280, 720, 0, 0)),
        ((3840, 2160), Layout(1280, 720, 0, 0)),
        ((1080, 1920), Layout(404, 720, 438, 0)),
        ((1440, 1080), Layout(960, 720, 160, 0)),
        ((2560, 1080), Layout(1280, 540, 0, 90)),
        ((333, 201), Layout(1192, 720, 44, 0)),
        ((4000, 10), Layout(1280, 4, 0, 358)),
        ((10, 4000), Layout(2, 720, 638, 0)),
    ],
)
def test_fit_keeps_the_aspect_ratio_with_even_sizes(display: tuple[int, int], layout: Layout) -> None:
    assert fit(*display, 1280, 720) == layout


def _is_black(level: float) -> bool:
    return abs(level - BLACK) <= 3


def test_output_format(landscape: tuple[Path, Path]) -> None:
    _, dst = landscape
    stream, lumas, types, duration = _probe(dst)
    assert types == ["video"]
    assert stream.codec == "h264"
    assert (stream.width, stream.height) == (1280, 720)
    assert stream.pix_fmt == "yuv420p"
    assert stream.sample_aspect_ratio == Fraction(1)
    assert stream.average_rate == 10
    assert len(lumas) == 30 + 2 * 5
    assert duration == pytest.approx(4.0, abs=0.2)


def test_keyframes_start_each_piece_then_come_every_two_seconds(landscape: tuple[Path, Path]) -> None:
    """Intro card, footage and outro card each start on a keyframe (a card's packets are copied in),
    then one comes every 2 s of it and nowhere else: no scene cut adds one (the HLS segments start
    on them). At 10 fps: 5-frame cards around 30 footage frames."""
    with av.open(str(landscape[1])) as media:
        stream = media.streams.video[0]
        frame_s = 1 / Fraction(stream.average_rate or 1)
        keyframes = [
            (packet.pts or 0) * Fraction(stream.time_base or 1) / frame_s
            for packet in media.demux(stream)
            if packet.is_keyframe
        ]
    assert sorted(keyframes) == [0, 5, 25, 35]


def test_faststart_puts_moov_before_mdat(landscape: tuple[Path, Path]) -> None:
    boxes = _top_level_boxes(landscape[1])
    assert boxes.index("moov") < boxes.index("mdat")


def test_timestamps_are_monotonic(landscape: tuple[Path, Path]) -> None:
    with av.open(str(landscape[1])) as media:
        dts = [p.dts for p in media.demux(video=0) if p.dts is not None]
    assert dts == sorted(dts)
    assert len(set(dts)) == len(dts)


def test_cards_frame_the_footage(landscape: tuple[Path, Path]) -> None:
    _, lumas, _, _ = _probe(landscape[1])
    intro = np.asarray(Image.open(ASSETS_DIR / "intro.png").convert("L"), dtype=np.float64)
    outro = np.asarray(Image.open(ASSETS_DIR / "outro.png").convert("L"), dtype=np.float64)
    assert np.abs(lumas[0] - intro).mean() < 6
    assert np.abs(lumas[4] - intro).mean() < 6
    assert np.abs(lumas[5] - intro).mean() > 20
    assert np.abs(lumas[-1] - outro).mean() < 6
    assert np.abs(lumas[-6] - outro).mean() > 20


def test_16_9_fills_the_frame(landscape: tuple[Path, Path]) -> None:
    _, lumas, _, _ = _probe(landscape[1])
    assert not any(_is_black(level) for level in _bars(lumas[15]).values())


def test_watermark_is_on_every_footage_frame(clips: Path, landscape: tuple[Path, Path]) -> None:
    src, dst = landscape
    clear_logo = clips / "clear.png"
    Image.new("RGBA", Image.open(ASSETS_DIR / "logo.png").size, (0, 0, 0, 0)).save(clear_logo)
    plain = clips / "plain-out.mp4"
    transcode(src, plain, BrandAssets(clear_logo, BRAND.intro, BRAND.outro), FAST)
    _, marked, _, _ = _probe(dst)
    _, unmarked, _, _ = _probe(plain)
    region = (slice(720 - 24 - 80, 720 - 24), slice(1280 - 24 - 200, 1280 - 24))
    elsewhere = (slice(100, 180), slice(100, 300))
    for with_logo, without in zip(marked[5:-5], unmarked[5:-5], strict=True):
        assert np.abs(with_logo[region].astype(int) - without[region]).mean() > 10
        assert np.abs(with_logo[elsewhere].astype(int) - without[elsewhere]).mean() < 3


@pytest.mark.parametrize(
    ("name", "options", "bars"),
    [
        ("portrait.mp4", {"width": 360, "height": 640}, {"left", "right"}),
        ("rotated.mp4", {"width": 640, "height": 360, "rotate": 90}, {"left", "right"}),
        ("rotated270.mov", {"width": 640, "height": 360, "rotate": 270}, {"left", "right"}),
        ("upside.mp4", {"width": 640, "height": 360, "rotate": 180}, set()),
        ("wide.mkv", {"width": 800, "height": 300}, {"top", "bottom"}),
        ("odd.webm", {"width": 333, "height": 201, "codec": "libvpx-vp9"}, {"left", "right"}),
    ],
)
def test_aspect_ratio_is_kept_with_black_bars(
    clips: Path, name: str, options: dict[str, object], bars: set[str]
) -> None:
    src = make_clip(clips / name, seconds=1.0, fps=10, **options)  # type: ignore[arg-type]
    dst = clips / f"{name}-out.mp4"
    transcode(src, dst, BRAND, FAST)
    stream, lumas, _, _ = _probe(dst)
    assert (stream.width, stream.height) == (1280, 720)
    levels = _bars(lumas[7])
    assert {edge for edge, level in levels.items() if _is_black(level)} == bars


def test_rotation_matches_a_portrait_recording(clips: Path) -> None:
    """A 1920x1080-style clip flagged rotate=90 comes out like the same picture recorded portrait."""
    rotated = make_clip(clips / "phone.mp4", width=640, height=360, seconds=1.0, rotate=90)
    dst = clips / "phone-out.mp4"
    transcode(rotated, dst, BRAND, FAST)
    _, lumas, _, _ = _probe(dst)
    picture = lumas[7]
    columns = np.flatnonzero(np.abs(picture.mean(axis=0) - BLACK) > 3)
    # 9:16 footage fitted into 720 rows is 405 (404 even) pixels wide, centred.
    assert columns.min() == pytest.approx(437, abs=4)
    assert columns.max() == pytest.approx(842, abs=4)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("ten-bit.mp4", {"pix_fmt": "yuv420p10le"}),
        ("full-chroma.mov", {"pix_fmt": "yuv444p"}),
        ("vfr.mkv", {"vfr": True}),
        ("hevc.mp4", {"codec": "libx265"}),
        ("vp9.webm", {"codec": "libvpx-vp9"}),
        ("av1.mp4", {"codec": "libsvtav1", "width": 320, "height": 240}),
        ("hevc-10bit.mkv", {"codec": "libx265", "pix_fmt": "yuv420p10le"}),
    ],
)
def test_sources_of_every_kind(clips: Path, name: str, options: dict[str, object]) -> None:
    src = make_clip(clips / name, **{"width": 320, "height": 180, "seconds": 1.0, "fps": 10, **options})  # type: ignore[arg-type]
    dst = clips / f"{name}-out.mp4"
    result = transcode(src, dst, BRAND, FAST)
    stream, lumas, _, _ = _probe(dst)
    assert (stream.width, stream.height, stream.pix_fmt) == (1280, 720, "yuv420p")
    assert result.fps == 10
    assert result.footage_frames == pytest.approx(10, abs=1)
    assert len(lumas) == result.footage_frames + 2 * result.card_frames


def test_only_the_first_seconds_are_kept_and_fps_is_capped(clips: Path) -> None:
    src = make_clip(clips / "long.mp4", width=320, height=180, seconds=3.0, fps=50)
    dst = clips / "long-out.mp4"
    settings = ProcessingSettings(card_s=0.5, max_output_s=2.0, max_fps=25)
    result = transcode(src, dst, BRAND, settings)
    stream, lumas, _, duration = _probe(dst)
    assert stream.average_rate == 25
    assert result.footage_frames == 50
    # Cards never run over card_s: 0.5 s at 25 fps is 12 frames, not 13.
    assert len(lumas) == 50 + 2 * 12
    assert duration == pytest.approx(2.0 + 2 * 12 / 25, abs=0.1)


def test_default_cards_last_two_and_a_half_seconds(clips: Path) -> None:
    src = make_clip(clips / "short.mp4", width=320, height=180, seconds=0.5, fps=10)
    result = transcode(src, clips / "short-out.mp4", BRAND, ProcessingSettings())
    assert result.card_frames == 25
    assert result.duration_s == pytest.approx(5.5)


@pytest.mark.parametrize("maker", [make_hls_bait, make_avi_hls_bait, make_mov_dref_bait])
def test_crafted_upload_never_reads_the_file_it_names(tmp_path: Path, maker) -> None:  # type: ignore[no-untyped-def]
    segment = make_clip(tmp_path / "secret.mp4", width=64, height=64, seconds=0.5)
    target = Path(shutil.copy(segment, tmp_path / "secret.ts"))
    bait = maker(tmp_path / "upload.mp4", target)
    dst = tmp_path / "out.mp4"
    with watch_opens(target) as events, pytest.raises(UnprocessableVideo):
        transcode(bait, dst, BRAND, FAST)
    assert events == []
    assert not dst.exists()


@pytest.mark.parametrize(
    "content",
    [
        b"this is not a video at all",
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 64,
        b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm" + b"\xff" * 4000,
    ],
)
def test_garbage_is_unprocessable_and_leaves_nothing(tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "upload.mp4"
    src.write_bytes(content)
    dst = tmp_path / "out.mp4"
    with pytest.raises(UnprocessableVideo) as failure:
        transcode(src, dst, BRAND, FAST)
    assert failure.value.reason == Reason(ProcessingFailure.DAMAGED)
    assert list(tmp_path.iterdir()) == [src]


def test_truncated_upload_is_unprocessable(clips: Path, tmp_path: Path) -> None:
    whole = make_clip(clips / "whole.mp4", width=320, height=180, seconds=1.0)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(UnprocessableVideo) as failure:
        transcode(cut, tmp_path / "out.mp4", BRAND, FAST)
    assert failure.value.reason == Reason(ProcessingFailure.DAMAGED)


def test_should_stop_cancels_and_leaves_nothing(clips: Path, tmp_path: Path) -> None:
    src = make_clip(clips / "stop.mp4", width=320, height=180, seconds=2.0)
    dst = tmp_path / "out.mp4"
    with pytest.raises(Cancelled):
        transcode(src, dst, BRAND, FAST, should_stop=lambda: True)
    assert list(tmp_path.iterdir()) == []


def test_a_failed_or_cancelled_transcode_leaves_no_derivative(clips: Path, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"this is not a video at all")
    with pytest.raises(UnprocessableVideo):
        transcode(garbage, tmp_path / "out.mp4", BRAND, FAST, derivatives=tmp_path / "derivatives")
    src = make_clip(clips / "cancelled.mp4", width=320, height=180, seconds=2.0)
    with pytest.raises(Cancelled):
        transcode(
            src,
            tmp_path / "out.mp4",
            BRAND,
            FAST,
            should_stop=lambda: True,
            derivatives=tmp_path / "derivatives",
        )
    assert list(tmp_path.iterdir()) == [garbage]


def test_progress_is_a_rising_percentage(landscape: tuple[Path, Path], tmp_path: Path) -> None:
    seen: list[int] = []
    transcode(landscape[0], tmp_path / "out.mp4", BRAND, FAST, on_progress=seen.append)
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) > 10
    assert seen[0] >= 0
    assert seen[-1] == 100


def test_codec_outside_the_accepted_set_is_unprocessable(clips: Path, tmp_path: Path) -> None:
    src = make_clip(clips / "mpeg4.mp4", width=320, height=180, seconds=0.5, codec="mpeg4")
    with pytest.raises(UnprocessableVideo) as failure:
        transcode(src, tmp_path / "out.mp4", BRAND, FAST)
    assert failure.value.reason == Reason(ProcessingFailure.UNSUPPORTED_CODEC, {"codec": "mpeg4"})


def test_damage_inside_the_footage_is_skipped_like_a_player_does(clips: Path, tmp_path: Path) -> None:
    whole = make_clip(clips / "damaged.mp4", width=320, height=180, seconds=2.0)
    data = bytearray(whole.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 2000] = bytes(2000)
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    result = transcode(damaged, tmp_path / "out.mp4", BRAND, FAST)
    assert result.footage_frames > 10


def test_a_slide_show_clip_gets_cards_of_two_frames(clips: Path) -> None:
    """1 fps (phones' time-lapse, the hostile-file suite's clips): 2.5 s cards are two frames, too
    few for x264 to reorder, joined to footage that it does reorder."""
    src = make_clip(clips / "slides.mp4", width=640, height=360, seconds=6.0, fps=1)
    dst = clips / "slides-out.mp4"
    result = transcode(src, dst, BRAND, ProcessingSettings())
    assert (result.fps, result.card_frames, result.footage_frames) == (1, 2, 6)
    _, lumas, _, duration = _probe(dst)
    assert len(lumas) == 10
    assert duration == pytest.approx(10.0, abs=0.1)
