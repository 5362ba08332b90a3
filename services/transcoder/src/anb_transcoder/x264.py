"""The output's H.264 stream: one place that configures libx264, so that every encoder a job uses
(the footage's and the cached cards') writes the same parameter sets and their pieces can be joined."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av
from av.video.stream import VideoStream

from anb_transcoder.settings import ProcessingSettings


@dataclass(frozen=True, slots=True)
class OutputFormat:
    """Everything that shapes the bitstream's parameter sets (SPS/PPS): encoders given equal ones
    produce pieces that one decoder can play in a row. Hashable, so it can key a cache."""

    fps: Fraction
    """Constant output frame rate; timestamps are counted in frames (time base 1/fps)."""
    width: int
    height: int
    preset: str
    crf: int

    @classmethod
    def of(cls, fps: Fraction, settings: ProcessingSettings) -> OutputFormat:
        return cls(fps, settings.width, settings.height, settings.preset, settings.crf)

    def add_stream(self, container: av.container.OutputContainer) -> VideoStream:
        """A libx264 stream in ``container``, opened, so that its parameter sets are known at once."""
        stream = container.add_stream("libx264", rate=self.fps)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = self.width, self.height, "yuv420p"
        stream.codec_context.time_base = 1 / self.fps
        stream.codec_context.sample_aspect_ratio = Fraction(1)
        stream.thread_type = "AUTO"
        stream.options = {"preset": self.preset, "crf": str(self.crf)}
        stream.codec_context.open()
        return stream
