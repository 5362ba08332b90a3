"""ANB brand assets (watermark, intro and outro cards): drawn with Pillow, committed as PNG files.

``python -m anb_devstack.brand`` redraws them; the launcher uploads ``seed_objects()`` to
``resources/`` where the transcoder fetches them.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from anb_common.keys import INTRO_KEY, LOGO_KEY, OUTRO_KEY

ASSETS_DIR = Path(__file__).parent / "assets"

_CARD_SIZE = (1280, 720)
_LOGO_SIZE = (200, 80)
_ORANGE = (242, 106, 27)
_NAVY = (12, 24, 48)


def seed_objects() -> list[tuple[str, Path]]:
    """(S3 key, local file) for every brand asset."""
    return [
        (LOGO_KEY, ASSETS_DIR / "logo.png"),
        (INTRO_KEY, ASSETS_DIR / "intro.png"),
        (OUTRO_KEY, ASSETS_DIR / "outro.png"),
    ]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled font: the same drawing on every machine; it has ASCII glyphs only.
    return ImageFont.load_default(size=size)


def draw_logo() -> Image.Image:
    """A semi-transparent "ANB" mark: readable on any footage without hiding it."""
    logo = Image.new("RGBA", _LOGO_SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    draw.rounded_rectangle(
        (2, 2, _LOGO_SIZE[0] - 3, _LOGO_SIZE[1] - 3),
        radius=16,
        fill=(*_NAVY, 110),
        outline=(255, 255, 255, 170),
        width=3,
    )
    draw.text(
        (_LOGO_SIZE[0] // 2, _LOGO_SIZE[1] // 2),
        "ANB",
        font=_font(52),
        fill=(255, 255, 255, 190),
        anchor="mm",
    )
    return logo


def draw_card(title: str, subtitle: str) -> Image.Image:
    card = Image.new("RGB", _CARD_SIZE, _NAVY)
    draw = ImageDraw.Draw(card)
    width = _CARD_SIZE[0]
    draw.ellipse((width // 2 - 150, 120, width // 2 + 150, 420), fill=_ORANGE)
    draw.line((width // 2, 120, width // 2, 420), fill=_NAVY, width=8)
    draw.line((width // 2 - 150, 270, width // 2 + 150, 270), fill=_NAVY, width=8)
    draw.text((width // 2, 510), title, font=_font(96), fill="white", anchor="mm")
    draw.text((width // 2, 610), subtitle, font=_font(40), fill=_ORANGE, anchor="mm")
    return card


def write_assets(directory: Path = ASSETS_DIR) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    draw_logo().save(directory / "logo.png", optimize=True)
    draw_card("ANB", "Nuevos talentos del baloncesto").save(directory / "intro.png", optimize=True)
    draw_card("ANB", "Vota por tu jugador favorito").save(directory / "outro.png", optimize=True)


if __name__ == "__main__":
    write_assets()
