"""Files that cost a decoder far more than their size or duration says (imported by name: pytest puts
this folder on sys.path).

Both hold one H.264 picture: a keyframe, then the same skipped P frame (a few dozen bytes) over and
over, so a file of any length is written in a fraction of a second, while a decoder still has to work
through every picture (about a millisecond each at 1080p, here). Written here because the shared clip
generators (``anb_devstack.clips``) have none yet.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
from av.video.stream import VideoStream

_TIME_BASE = Fraction(1, 1000)


def make_frame_bomb(path: Path, *, frames: int, seconds: float, width: int = 64, height: int = 64) -> Path:
    """``frames`` pictures whose timestamps spread evenly over ``seconds`` (an MP4, or any suffix
    PyAV muxes): far more pictures than any camera takes in that time."""
    ticks = seconds / _TIME_BASE
    return _repeated_picture(path, frames, width, height, lambda index: round(index * ticks / frames))


def make_stuck_timestamps(path: Path, *, frames: int, width: int = 64, height: int = 64) -> Path:
    """``frames`` pictures that all carry the first one's timestamp. Matroska stores that as it is
    (MP4's muxer refuses timestamps that do not advance), so ``path`` should end in ``.mkv``."""
    return _repeated_picture(path, frames, width, height, lambda index: 0)


def _repeated_picture(
    path: Path, frames: int, width: int, height: int, timestamp: Callable[[int], int]
) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = _TIME_BASE
        # No B-frames: decode order is display order, so each packet's timestamps are its own.
        stream.options = {"preset": "ultrafast", "bframes": "0", "x264-params": "scenecut=0"}
        picture = av.VideoFrame(width, height, "yuv420p")
        for plane in picture.planes:
            plane.update(bytes([128]) * plane.buffer_size)
        encoded = []
        for index in range(2):
            picture.pts, picture.time_base = index, _TIME_BASE
            encoded += stream.encode(picture)
        encoded += stream.encode(None)
        keyframe, skipped = bytes(encoded[0]), bytes(encoded[1])
        for index in range(frames):
            packet = av.Packet(keyframe if index == 0 else skipped)
            packet.pts = packet.dts = timestamp(index)
            packet.time_base = _TIME_BASE
            packet.is_keyframe = index == 0
            packet.stream = stream
            out.mux(packet)
    return path
