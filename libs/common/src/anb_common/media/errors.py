"""The one error the media layer raises about an input: which rule it broke, in a player's words."""

from __future__ import annotations


class MediaRejected(Exception):
    """The file is not a video we accept. ``rule`` is a stable machine name (``not_a_video``,
    ``no_video_stream``, ``undecodable``, ``codec``, ``duration``, ``resolution``); ``detail`` is a
    sentence to show the player."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail
