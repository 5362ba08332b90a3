"""Helpers for the derivative tests (imported by name): clips of chosen pictures, and the output's
frames read back as RGB the way a player shows them."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from av.video.stream import VideoStream
from PIL import Image, ImageFilter

from anb_devstack.brand import ASSETS_DIR
from anb_transcoder.brand import BrandAssets

BRAND = BrandAssets(ASSETS_DIR / "logo.png", ASSETS_DIR / "intro.png", ASSETS_DIR / "outro.png")

Rgb = npt.NDArray[Any]


def texture(seed: int, width: int, height: int, block: int = 8) -> Rgb:
    """Random coloured blocks: detail everywhere, and no two seeds alike."""
    cells = np.random.default_rng(seed).integers(0, 256, (height // block + 1, width // block + 1, 3))
    return np.repeat(np.repeat(cells, block, axis=0), block, axis=1)[:height, :width].astype(np.uint8)


def blurred(picture: Rgb, radius: float) -> Rgb:
    return np.asarray(Image.fromarray(picture).filter(ImageFilter.GaussianBlur(radius)))


def black(width: int, height: int) -> Rgb:
    return np.zeros((height, width, 3), dtype=np.uint8)


def write_clip(path: Path, pictures: Sequence[Rgb], fps: int) -> Path:
    """An H.264 MP4 of ``pictures`` at ``fps``, nearly lossless so that the pictures arrive intact."""
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        assert isinstance(stream, VideoStream)
        stream.height, stream.width = pictures[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "ultrafast", "crf": "4"}
        for index, picture in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def output_frames(mp4: Path) -> list[Rgb]:
    """Every frame of a processed video as RGB: BT.709 limited range, as the output is meant."""
    with av.open(str(mp4)) as media:
        return [
            frame.reformat(format="rgb24", src_colorspace="ITU709", src_color_range="MPEG").to_ndarray()
            for frame in media.decode(video=0)
        ]


def jpeg_rgb(data: bytes, path: Path) -> Rgb:
    """A JPEG decoded as any viewer does (JFIF: BT.601 full range)."""
    path.write_bytes(data)
    with Image.open(path) as image:
        assert image.format == "JPEG"
        return np.asarray(image.convert("RGB"))


def difference(a: Rgb, b: Rgb) -> float:
    """Mean absolute difference per channel, 0 to 255."""
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())
