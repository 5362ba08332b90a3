from __future__ import annotations

from fractions import Fraction

import pytest

from anb_common.media import Container, MediaFacts, MediaRejected, check
from anb_common.settings import UploadLimits

LIMITS = UploadLimits(min_duration_s=20, max_duration_s=60, min_short_side_px=1080)


def _facts(**changes: object) -> MediaFacts:
    base: dict[str, object] = {
        "container": Container.MP4,
        "codec": "h264",
        "width": 1920,
        "height": 1080,
        "duration_s": 30.0,
        "fps": Fraction(30),
        "rotation": 0,
        "pix_fmt": "yuv420p",
    }
    return MediaFacts(**{**base, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({}, None),
        ({"codec": "hevc"}, None),
        ({"codec": "vp9", "container": Container.WEBM}, None),
        ({"codec": "av1", "container": Container.MKV}, None),
        ({"width": 1080, "height": 1920, "rotation": 90}, None),
        ({"width": 3840, "height": 2160}, None),
        ({"duration_s": 20.0}, None),
        ({"duration_s": 60.0}, None),
        ({"codec": "mpeg4"}, "codec"),
        ({"codec": "prores"}, "codec"),
        ({"duration_s": 19.9}, "duration"),
        ({"duration_s": 60.5}, "duration"),
        ({"width": 1280, "height": 720}, "resolution"),
        ({"width": 1080, "height": 1079}, "resolution"),
        ({"width": 4096, "height": 2160}, None),
        ({"width": 4097, "height": 2160}, "resolution"),
        ({"width": 8192, "height": 8184}, "resolution"),
    ],
)
def test_rules(changes: dict[str, object], rule: str | None) -> None:
    if rule is None:
        check(_facts(**changes), LIMITS)
        return
    with pytest.raises(MediaRejected) as rejected:
        check(_facts(**changes), LIMITS)
    assert rejected.value.rule == rule
    assert rejected.value.detail


def test_details_speak_to_the_player() -> None:
    with pytest.raises(MediaRejected) as rejected:
        check(_facts(duration_s=12.0), LIMITS)
    assert "at least 20 s" in rejected.value.detail
    with pytest.raises(MediaRejected) as rejected:
        check(_facts(width=1280, height=720), LIMITS)
    assert "1080" in rejected.value.detail


def test_limits_come_from_settings() -> None:
    check(
        _facts(duration_s=5.0, width=640, height=360), UploadLimits(min_duration_s=1, min_short_side_px=360)
    )
