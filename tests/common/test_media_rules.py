from __future__ import annotations

from fractions import Fraction

import pytest

from anb_common.media import Container, MediaFacts, MediaRejected, check
from anb_common.reasons import Reason
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
        "frames": 900,
    }
    return MediaFacts(**{**base, **changes})  # type: ignore[arg-type]


def _size(width: int, height: int, **bound: int) -> Reason:
    return Reason("resolution", {"width": width, "height": height, **bound})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({}, None),
        ({"codec": "hevc"}, None),
        ({"codec": "vp9", "container": Container.WEBM}, None),
        ({"codec": "av1", "container": Container.MKV}, None),
        ({"width": 1080, "height": 1920, "rotation": 90}, None),
        ({"width": 3840, "height": 2160}, None),
        ({"duration_s": 20.0}, None),
        ({"duration_s": 60.0}, None),
        ({"codec": "mpeg4"}, Reason("codec", {"codec": "mpeg4"})),
        ({"codec": "prores"}, Reason("codec", {"codec": "prores"})),
        ({"duration_s": 19.94}, Reason("duration", {"duration_s": 19.9, "min_s": 20.0})),
        ({"duration_s": 60.5}, Reason("duration", {"duration_s": 60.5, "max_s": 60.0})),
        ({"width": 1280, "height": 720}, _size(1280, 720, min_short_side_px=1080)),
        ({"width": 1080, "height": 1079}, _size(1080, 1079, min_short_side_px=1080)),
        ({"width": 4096, "height": 2160}, None),
        ({"width": 4097, "height": 2160}, _size(4097, 2160, max_long_side_px=4096)),
        ({"width": 8192, "height": 8184}, _size(8192, 8184, max_long_side_px=4096)),
        ({"frames": 3600}, None),
        ({"frames": 3601}, Reason("frame_rate", {"fps": 120.03, "max_fps": 120})),
        ({"frames": 3_000_000}, Reason("frame_rate", {"fps": 100_000.0, "max_fps": 120})),
    ],
)
def test_rules(changes: dict[str, object], reason: Reason | None) -> None:
    if reason is None:
        check(_facts(**changes), LIMITS)
        return
    with pytest.raises(MediaRejected) as rejected:
        check(_facts(**changes), LIMITS)
    assert rejected.value.reason == reason
    assert rejected.value.rule == reason.code
    assert rejected.value.detail  # English, for the logs


def test_limits_come_from_settings() -> None:
    check(
        _facts(duration_s=5.0, width=640, height=360, frames=150),
        UploadLimits(min_duration_s=1, min_short_side_px=360),
    )
