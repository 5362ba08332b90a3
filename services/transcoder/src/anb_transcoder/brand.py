"""The brand pictures a transcode needs, loaded once per job from the files fetched from resources/.

The PNGs are decoded by PyAV's own PNG decoder, so the worker needs no imaging library beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
from av.video.frame import PictureType


@dataclass(frozen=True, slots=True)
class BrandAssets:
    logo: Path
    """Semi-transparent RGBA PNG laid over every footage frame."""
    intro: Path
    """Card shown before the footage (scaled to the output size if it is not already)."""
    outro: Path
    """Card shown after the footage."""


def load_logo(path: Path) -> av.VideoFrame:
    """The watermark as an RGBA frame, whatever the PNG stores (RGBA, a palette with transparency,
    grey, RGB without alpha): the graph's logo input is declared ``rgba``, and a frame of another
    format would be garbled there without an error."""
    return _decode_png(path).reformat(format="rgba")


def load_card(path: Path, width: int, height: int) -> av.VideoFrame:
    """A card as a ``yuv420p`` frame of the output size, converted with BT.709, the HD colour matrix
    players assume for untagged HD video, to the limited range the footage has. The range is named:
    the decoded PNG is tagged full range, and the converted frame would otherwise keep that tag and
    be converted to full-range YUV, which the untagged output would show washed out."""
    card = _decode_png(path).reformat(
        width, height, "yuv420p", dst_colorspace="ITU709", dst_color_range="MPEG", interpolation="BICUBIC"
    )
    # A decoded picture is flagged I, and x264 obeys the flag: every card frame would be a keyframe.
    card.pict_type = PictureType.NONE
    return card


def _decode_png(path: Path) -> av.VideoFrame:
    # ``png_pipe`` reads the one file it is given: the default image2 demuxer would take a ``%`` in
    # the path for a numbered-sequence pattern, and it would open a file that is not a PNG.
    with av.open(str(path), format="png_pipe") as image:
        return next(image.decode(video=0))
