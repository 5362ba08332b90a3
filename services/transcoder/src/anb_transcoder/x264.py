"""The output's H.264 stream: one place that configures libx264, so that every encoder a job uses
(the footage's and the cached cards') writes the same parameter sets and their pieces can be joined,
with keyframes at the same fixed interval, on which the HLS rendition cuts its segments."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
from av.video.stream import VideoStream

from anb_transcoder.settings import ProcessingSettings

KEYFRAME_INTERVAL_S = 2
"""Seconds between keyframes, and so the length of the HLS segments, which must each start on one."""


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """Everything that shapes the bitstream: its parameter sets (SPS/PPS), which encoders given equal
    ones share, so that one decoder plays their pieces in a row, and its keyframe interval. Hashable,
    so it can key a cache."""

    fps: Fraction
    """Constant output frame rate; timestamps are counted in frames (time base 1/fps)."""
    width: int
    height: int
    preset: str
    crf: int
    keyint: int
    """Frames from one keyframe to the next, always: no scene-cut keyframes, so that every piece (a
    card, the footage) has one at its start and then every ``KEYFRAME_INTERVAL_S``, where an HLS
    segment can begin without decoding anything before it."""

    @classmethod
    def of(cls, fps: Fraction, settings: ProcessingSettings) -> OutputFormat:
        keyint = max(1, round(fps * KEYFRAME_INTERVAL_S))
        return cls(fps, settings.width, settings.height, settings.preset, settings.crf, keyint)

    def add_stream(self, container: av.container.OutputContainer) -> VideoStream:
        """A libx264 stream in ``container``, opened, so that its parameter sets are known at once."""
        stream = container.add_stream("libx264", rate=self.fps)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        stream.codec_context.time_base = 1 / self.fps
        stream.codec_context.sample_aspect_ratio = Fraction(1)
        stream.thread_type = "AUTO"
        stream.options = {
            "preset": self.preset,
            "crf": str(self.crf),
            "x264-params": f"keyint={self.keyint}:min-keyint={self.keyint}:scenecut=0",
        }
        stream.codec_context.open()
        return stream
