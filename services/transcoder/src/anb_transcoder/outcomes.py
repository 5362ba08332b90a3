"""How a transcode ends without its file: told to stop, or given an input that can never work."""

from __future__ import annotations

from anb_common.reasons import ProcessingFailure, Reason, Value


class Cancelled(Exception):
    """The job was told to stop (shutdown, or its video deleted or finished elsewhere); nothing was
    written."""


class UnprocessableVideo(Exception):
    """The input can never be transcoded (not a video, nothing decodable, a bound hit).

    ``reason`` is what the video row stores (a code with values, worded for players by the
    gateway); the message, in English, is for the log."""

    def __init__(self, code: ProcessingFailure, why: str, **values: Value) -> None:
        super().__init__(why)
        self.reason = Reason(code, values)
