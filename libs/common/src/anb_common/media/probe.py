"""What a video is: container, codec, size, duration, frame rate, rotation; decodability checked."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from av.video.stream import VideoStream

from anb_common.media.errors import MediaRejected
from anb_common.media.safe_open import safe_open, sniff_file
from anb_common.media.sniff import Container
from anb_common.reasons import UploadRule


@dataclass(frozen=True, slots=True)
class MediaFacts:
    container: Container
    codec: str
    """Codec (not decoder) name: h264, hevc, vp9, av1, ..."""
    width: int
    """Stored width in pixels, before rotation."""
    height: int
    duration_s: float
    fps: Fraction
    """Average frame rate (0 when the file does not tell)."""
    rotation: int
    """Degrees clockwise a player turns the picture for display: 0, 90, 180 or 270."""
    pix_fmt: str


def probe(path: Path) -> MediaFacts:
    """Facts about the local video ``path``; raises ``MediaRejected`` when it is not one we can read
    (not a known container, no video stream, first frame not decodable)."""
    container = sniff_file(path)
    with safe_open(path, container) as media:
        if not media.streams.video:
            raise MediaRejected(UploadRule.NO_VIDEO_STREAM, "The file has no video track.")
        stream = media.streams.video[0]
        frame = _first_frame(media, stream)
        return MediaFacts(
            container=container,
            codec=stream.codec_context.codec.canonical_name,
            width=frame.width,
            height=frame.height,
            duration_s=stream_duration_s(media, stream) or 0.0,
            fps=stream.average_rate or stream.guessed_rate or Fraction(0),
            rotation=clockwise_rotation(frame),
            pix_fmt=frame.format.name,
        )


def _first_frame(media: av.container.InputContainer, stream: VideoStream) -> av.VideoFrame:
    """Decode the first picture of ``stream``; ``MediaRejected("undecodable")`` if there is none."""
    try:
        for frame in media.decode(stream):
            return frame
    except (av.FFmpegError, ValueError) as exc:
        raise MediaRejected(
            UploadRule.UNDECODABLE, "The video track is damaged and cannot be played."
        ) from exc
    raise MediaRejected(UploadRule.UNDECODABLE, "The video track holds no pictures.")


def clockwise_rotation(frame: av.VideoFrame) -> int:
    """The frame's display-matrix rotation as clockwise degrees, snapped to a quarter turn."""
    # FFmpeg reports the counter-clockwise angle in [-180, 180].
    return round(-frame.rotation / 90) % 4 * 90


def stream_duration_s(media: av.container.InputContainer, stream: VideoStream) -> float | None:
    """Duration of ``stream`` from the container's index (Matroska only has the container's)."""
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if media.duration is not None:
        return media.duration / av.time_base
    return None
