"""The two ways an upload fails: it breaks a rule (400, the player's to fix) or a dependency did not
answer (503, nothing was kept and the same upload may simply be sent again)."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.exc import DBAPIError


class UploadRejected(Exception):
    """The upload breaks a rule; ``rule`` is a stable name, ``detail`` says what was wrong."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


class DependencyUnavailable(Exception):
    """Storage, queue or database did not answer: the upload is undone and may be retried later."""


# What a dependency outage looks like from here (connection refused, timeouts, 5xx, a dropped pool).
OUTAGES: tuple[type[BaseException], ...] = (BotoCoreError, ClientError, DBAPIError, ConnectionError)
