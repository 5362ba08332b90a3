"""The output writer: copied card packets and encoded footage make one stream any decoder plays."""

from __future__ import annotations

import logging
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from anb_devstack.brand import ASSETS_DIR
from anb_transcoder.cards import encoded_card
from anb_transcoder.encoder import Encoder
from anb_transcoder.outcomes import Cancelled
from anb_transcoder.x264 import OutputFormat

OUTPUT = OutputFormat(Fraction(25), 1280, 720, "veryfast", 23, 50)
CARD_FRAMES = 10
FOOTAGE_FRAMES = 20


def _footage(index: int) -> av.VideoFrame:
    """A moving grey ramp, so that x264 uses P and B frames across the footage."""
    ramp = (np.arange(1280, dtype=np.uint16)[None, :] + index * 16) % 256
    return av.VideoFrame.from_ndarray(np.repeat(ramp, 720, axis=0).astype(np.uint8), format="gray").reformat(
        format="yuv420p"
    )


def _write(
    dst: Path, card_output: OutputFormat, card_frames: int = CARD_FRAMES, footage_frames: int = FOOTAGE_FRAMES
) -> list[int]:
    seen: list[int] = []
    with Encoder(dst, OUTPUT, seen.append, None) as encoder:
        encoder.card(encoded_card(ASSETS_DIR / "intro.png", card_frames, card_output))
        for index in range(footage_frames):
            encoder.frame(_footage(index))
        encoder.card(encoded_card(ASSETS_DIR / "outro.png", card_frames, card_output))
    return seen


def _frames_and_dts(path: Path) -> tuple[int, list[int]]:
    with av.open(str(path)) as media:
        dts = [packet.dts for packet in media.demux(video=0) if packet.dts is not None]
    with av.open(str(path)) as media:
        frames = sum(1 for _ in media.decode(video=0))
    return frames, dts


def _reference_decoder_errors(path: Path) -> str:
    """What the ffmpeg CLI (another FFmpeg build) complains about while decoding every frame."""
    run = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-f", "null", "-"],
        capture_output=True,
        text=True,
        check=True,
    )
    return run.stderr


# x264 delays decode times only in runs long enough to reorder: short cards (a 1 fps source gets
# two-frame cards) and short footage join long runs with other delays.
@pytest.mark.parametrize(
    ("card_frames", "footage_frames"),
    [(CARD_FRAMES, FOOTAGE_FRAMES), (2, 1), (2, 2), (1, 20), (10, 2), (3, 1)],
)
def test_copied_cards_and_encoded_footage_make_one_clean_stream(
    tmp_path: Path, card_frames: int, footage_frames: int
) -> None:
    dst = tmp_path / "out.mp4"
    seen = _write(dst, OUTPUT, card_frames, footage_frames)
    frames, dts = _frames_and_dts(dst)
    assert frames == footage_frames + 2 * card_frames
    assert dts == sorted(dts)
    assert len(set(dts)) == len(dts)
    assert _reference_decoder_errors(dst) == ""
    assert seen[-1] == footage_frames + 2 * card_frames


def test_cards_from_another_format_are_encoded_in_place(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # ultrafast turns CABAC off: other parameter sets, so the copied packets would not decode.
    other = OutputFormat(OUTPUT.fps, OUTPUT.width, OUTPUT.height, "ultrafast", OUTPUT.crf, OUTPUT.keyint)
    assert encoded_card(ASSETS_DIR / "intro.png", CARD_FRAMES, other).extradata != (
        encoded_card(ASSETS_DIR / "intro.png", CARD_FRAMES, OUTPUT).extradata
    )
    dst = tmp_path / "out.mp4"
    with caplog.at_level(logging.WARNING):
        _write(dst, other)
    assert "parameter sets differ" in caplog.text
    frames, _ = _frames_and_dts(dst)
    assert frames == FOOTAGE_FRAMES + 2 * CARD_FRAMES
    assert _reference_decoder_errors(dst) == ""


def _stop() -> None:
    raise Cancelled


def test_a_stop_request_is_seen_while_cards_are_copied(tmp_path: Path) -> None:
    with (
        pytest.raises(Cancelled),
        Encoder(tmp_path / "out.mp4", OUTPUT, lambda _: None, _stop) as encoder,
    ):
        encoder.card(encoded_card(ASSETS_DIR / "intro.png", CARD_FRAMES, OUTPUT))
