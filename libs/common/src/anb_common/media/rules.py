"""Which videos the platform accepts, as one pure check over ``MediaFacts``; the parts a prober can
apply before decoding anything (codec, declared size, frame count) are functions of their own."""

from __future__ import annotations

from anb_common.media.errors import MediaRejected
from anb_common.media.facts import MediaFacts
from anb_common.reasons import UploadRule
from anb_common.settings import UploadLimits

ACCEPTED_CODECS = frozenset({"h264", "hevc", "vp9", "av1"})

MAX_FPS = 120
"""Most pictures per second of footage: phones film slow motion at 120. More means a file that costs
the transcoder far more than its duration says (a frame bomb, or timestamps that do not advance)."""


def check(facts: MediaFacts, limits: UploadLimits) -> None:
    """Raise ``MediaRejected`` for the first rule ``facts`` breaks; return when the video is accepted.

    The container rule is already enforced by sniffing (only MP4/MOV/WebM/MKV get this far).
    """
    check_codec(facts.codec)
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
    check_long_side(facts.width, facts.height, limits)
    check_frame_rate(facts.frames, facts.duration_s)


def check_codec(codec: str) -> None:
    if codec not in ACCEPTED_CODECS:
        raise MediaRejected(
            UploadRule.CODEC, f"The video is encoded as {codec}; upload H.264, HEVC, VP9 or AV1.", codec=codec
        )


def check_long_side(width: int, height: int, limits: UploadLimits) -> None:
    if max(width, height) > limits.max_long_side_px:
        raise MediaRejected(
            UploadRule.RESOLUTION,
            f"The video is {width}x{height}; its longer side must be at most "
            f"{limits.max_long_side_px} pixels (4K).",
            width=width,
            height=height,
            max_long_side_px=limits.max_long_side_px,
        )


def check_frame_rate(frames: int, duration_s: float) -> None:
    """At most ``MAX_FPS`` pictures per second of the clip. A clip without a duration is left to the
    duration rule."""
    if duration_s > 0 and frames > MAX_FPS * duration_s:
        fps = frames / duration_s
        raise MediaRejected(
            UploadRule.FRAME_RATE,
            f"{frames} pictures in {duration_s:.1f} s make {fps:.1f} per second; at most {MAX_FPS}.",
            fps=round(fps, 2),
            max_fps=MAX_FPS,
        )


def max_pixels(limits: UploadLimits) -> int:
    """The largest picture a decoder may allocate: a square of the longest side accepted."""
    return limits.max_long_side_px**2
