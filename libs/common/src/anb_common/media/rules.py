"""Which videos the platform accepts, as one pure check over ``MediaFacts``."""

from __future__ import annotations

from anb_common.media.errors import MediaRejected
from anb_common.media.probe import MediaFacts
from anb_common.reasons import UploadRule
from anb_common.settings import UploadLimits

ACCEPTED_CODECS = frozenset({"h264", "hevc", "vp9", "av1"})


def check(facts: MediaFacts, limits: UploadLimits) -> None:
    """Raise ``MediaRejected`` for the first rule ``facts`` breaks; return when the video is accepted.

    The container rule is already enforced by sniffing (only MP4/MOV/WebM/MKV get this far).
    """
    if facts.codec not in ACCEPTED_CODECS:
        raise MediaRejected(
            UploadRule.CODEC,
            f"The video is encoded as {facts.codec}; upload H.264, HEVC, VP9 or AV1.",
            codec=facts.codec,
        )
    duration_s = round(facts.duration_s, 1)
    if facts.duration_s < limits.min_duration_s:
        raise MediaRejected(
            UploadRule.DURATION,
            f"The clip lasts {facts.duration_s:.1f} s; it must last at least {limits.min_duration_s:g} s.",
            duration_s=duration_s,
            min_s=limits.min_duration_s,
        )
    if facts.duration_s > limits.max_duration_s:
        raise MediaRejected(
            UploadRule.DURATION,
            f"The clip lasts {facts.duration_s:.1f} s; it must last at most {limits.max_duration_s:g} s.",
            duration_s=duration_s,
            max_s=limits.max_duration_s,
        )
    if min(facts.width, facts.height) < limits.min_short_side_px:
        raise MediaRejected(
            UploadRule.RESOLUTION,
            f"The video is {facts.width}x{facts.height}; its shorter side must be at least "
            f"{limits.min_short_side_px} pixels (1080p).",
            width=facts.width,
            height=facts.height,
            min_short_side_px=limits.min_short_side_px,
        )
    if max(facts.width, facts.height) > limits.max_long_side_px:
        raise MediaRejected(
            UploadRule.RESOLUTION,
            f"The video is {facts.width}x{facts.height}; its longer side must be at most "
            f"{limits.max_long_side_px} pixels (4K).",
            width=facts.width,
            height=facts.height,
            max_long_side_px=limits.max_long_side_px,
        )
