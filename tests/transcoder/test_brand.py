"""Brand PNGs decoded by PyAV give the pixels Pillow gives (Pillow is the reference here only: the
worker does not depend on it)."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from av.video.frame import PictureType
from PIL import Image

from anb_devstack.brand import ASSETS_DIR
from anb_transcoder.brand import load_card, load_logo


def _pillow_rgba(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA"))


def test_the_logo_keeps_its_alpha_channel() -> None:
    logo = load_logo(ASSETS_DIR / "logo.png")
    assert logo.format.name == "rgba"
    pixels = logo.to_ndarray()
    assert np.array_equal(pixels, _pillow_rgba(ASSETS_DIR / "logo.png"))
    # Partly transparent: an alpha channel lost on the way would read 255 everywhere.
    assert pixels[..., 3].min() < 255


@pytest.mark.parametrize(
    ("mode", "stored"),
    [
        ("P", "pal8"),  # a palette with transparency (tRNS), as PNG optimisers write logos
        ("LA", "ya8"),
        ("RGB", "rgb24"),
        ("RGBA", "rgba"),
    ],
)
def test_a_logo_in_any_png_layout_becomes_the_same_rgba(tmp_path: Path, mode: str, stored: str) -> None:
    with Image.open(ASSETS_DIR / "logo.png") as original:
        rgba = original.convert("RGBA")
    image = rgba.quantize(colors=64) if mode == "P" else rgba.convert(mode)
    # A "%" would make FFmpeg's default image demuxer read the path as a numbered-sequence pattern.
    path = tmp_path / "100%" / "logo.png"
    path.parent.mkdir()
    image.save(path)
    with av.open(str(path)) as media:
        assert next(media.decode(video=0)).format.name == stored
    logo = load_logo(path)
    assert logo.format.name == "rgba"
    assert np.array_equal(logo.to_ndarray(), _pillow_rgba(path))


@pytest.mark.parametrize("name", ["intro.png", "outro.png"])
@pytest.mark.parametrize("size", [(1280, 720), (640, 360)])
def test_cards_equal_the_pillow_decoded_picture(name: str, size: tuple[int, int]) -> None:
    path = ASSETS_DIR / name
    with Image.open(path) as image:
        pillow = av.VideoFrame.from_ndarray(np.asarray(image.convert("RGB")), format="rgb24")
    reference = pillow.reformat(*size, "yuv420p", dst_colorspace="ITU709", interpolation="BICUBIC")
    card = load_card(path, *size)
    assert (card.format.name, card.width, card.height) == ("yuv420p", *size)
    assert np.array_equal(card.to_ndarray(), reference.to_ndarray())
    # Left to x264: a picture flagged I would turn every card frame into a keyframe.
    assert card.pict_type == PictureType.NONE
