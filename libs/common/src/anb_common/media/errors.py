"""The one error the media layer raises about an input: which rule it broke, with the figures."""

from __future__ import annotations

from anb_common.reasons import Reason, Value


class MediaRejected(Exception):
    """The file is not a video we accept. ``reason`` is what travels (an ``UploadRule`` code with the
    values that explain it, rendered for players by the gateway); ``detail`` is English, for logs."""

    def __init__(self, code: str, detail: str, **values: Value) -> None:
        super().__init__(f"{code}: {detail}")
        self.reason = Reason(code, values)
        self.detail = detail

    @property
    def rule(self) -> str:
        return self.reason.code
