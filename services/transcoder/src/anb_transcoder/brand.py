"""The brand pictures a transcode needs, loaded once per job from the files fetched from resources/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image


@dataclass(frozen=True, slots=True)
class BrandAssets:
    logo: Path
    """Semi-transparent RGBA PNG laid over every footage frame."""
    intro: Path
    """Card shown before the footage (scaled to the output size if it is not already)."""
    outro: Path
    """Card shown after the footage."""


def load_logo(path: Path) -> av.VideoFrame:
    """The watermark as an RGBA frame (``from_image`` would drop the alpha channel)."""
    with Image.open(path) as image:
        rgba = np.asarray(image.convert("RGBA"))
    return av.VideoFrame.from_ndarray(rgba, format="rgba")


def load_card(path: Path, width: int, height: int) -> av.VideoFrame:
    """A card as a ``yuv420p`` frame of the output size, converted with BT.709, the HD colour matrix
    players assume for untagged HD video."""
    with Image.open(path) as image:
        rgb = av.VideoFrame.from_ndarray(np.asarray(image.convert("RGB")), format="rgb24")
    return rgb.reformat(width, height, "yuv420p", dst_colorspace="ITU709", interpolation="BICUBIC")
