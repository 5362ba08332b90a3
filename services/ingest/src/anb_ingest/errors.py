"""The two ways an upload fails: it breaks a rule (4xx, the player's to fix) or a dependency did not
answer (503, nothing was kept and the same upload may simply be sent again)."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.exc import DBAPIError

from anb_common.reasons import Reason, Value


class UploadRejected(Exception):
    """The upload breaks a rule. ``reason`` is what ingest answers (an ``UploadRule`` code and the
    values that explain it; the gateway words it for players); ``detail`` is English, for logs."""

    def __init__(self, code: str, detail: str, **values: Value) -> None:
        super().__init__(f"{code}: {detail}")
        self.reason = Reason(code, values)
        self.detail = detail

    @property
    def rule(self) -> str:
        return self.reason.code


class DependencyUnavailable(Exception):
    """Storage, queue or database did not answer: the upload is undone and may be retried later."""


# What a dependency outage looks like from here (connection refused, timeouts, 5xx, a dropped pool).
OUTAGES: tuple[type[BaseException], ...] = (BotoCoreError, ClientError, DBAPIError, ConnectionError)
