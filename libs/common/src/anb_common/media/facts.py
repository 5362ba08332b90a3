"""What probing tells about a video, as plain data (no PyAV: it travels between processes)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from anb_common.media.sniff import Container


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
    frames: int = 0
    """Pictures in the video track: as the container states it, or counted up to twice ``MAX_FPS``
    per second of the clip (enough to know the rule is broken); 0 when nobody counted."""
