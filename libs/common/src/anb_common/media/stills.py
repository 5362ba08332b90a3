"""A processed video's picture at a chosen moment, as its poster: what the owner's pick
(``POST /api/videos/{id}/poster``) stores. Ingest runs it in a bounded child process.

The moment is a time in the processed MP4 (its footage's start plus the seconds the owner chose); the
picture is the frame on screen then, the last one that starts at or before it, found by seeking to
the keyframe before it and decoding from there (two seconds of frames at most: the transcoder puts a
keyframe every two).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from anb_common.media.jpeg import encode_jpeg, to_rgb
from anb_common.media.opening import few_pictures_decoder, safe_open

WIDTH, HEIGHT = 1280, 720
"""The contract's poster size, which is also the processed video's."""
MAX_BYTES = 100_000
"""The contract's limit on a poster's size."""
_SAME_INSTANT_S = 1e-3
"""Times this close are the same instant: a footage start stored as seconds (75 / 30 = 2.5) meets a
frame's timestamp in the stream's time base; frames are at least 8 ms apart at the highest rate."""


def frame_at(path: Path, moment_s: float) -> av.VideoFrame:
    """The frame of the local processed video ``path`` on screen ``moment_s`` seconds after its
    first frame (its last frame when the moment lies past the end)."""
    with safe_open(path, max_pixels=WIDTH * HEIGHT) as media:
        stream = media.streams.video[0]
        # Two seconds of frames at most, in a bounded child.
        few_pictures_decoder(stream.codec_context, WIDTH * HEIGHT)
        time_base = stream.time_base or Fraction(1, 90_000)
        start = stream.start_time or 0
        target = start + int(moment_s / time_base)
        media.seek(target, stream=stream, backward=True)
        shown: av.VideoFrame | None = None
        for frame in media.decode(stream):
            if frame.pts is None:
                continue
            if shown is not None and (frame.pts - target) * time_base > _SAME_INSTANT_S:
                break
            shown = frame
    if shown is None:
        raise ValueError(f"{path.name} has no picture to show at {moment_s:.3f} s")
    return shown


def poster_jpeg(path: Path, moment_s: float) -> bytes:
    """The frame at ``moment_s`` as a poster: a 1280x720 JPEG of at most ``MAX_BYTES``."""
    return encode_jpeg(to_rgb(frame_at(path, moment_s), WIDTH, HEIGHT), MAX_BYTES)
