"""How the worker logs a failure it rides out: a step it retries, a poll it backs off from, a message
it leaves to SQS's redrive.

A dependency that is away (S3 or SQS unreachable or answering with an error, PostgreSQL restarting,
the disk full) fails each call the same way for as long as it lasts, and the worker logs every retry.
One line naming the error tells all there is; a traceback each time buried the log (a minute of
them when ``make run`` stopped moto under a running job). Any other error is a bug of ours, which
the worker still rides out, and its record keeps the traceback to find it by.
"""

from __future__ import annotations

import logging

import botocore.exceptions
import sqlalchemy.exc

from anb_common.db.outages import ASYNCPG_OUTAGES
from anb_transcoder.storage import DeleteFailed, MissingObject

_DEPENDENCY_FAILURES: tuple[type[BaseException], ...] = (
    # Refused, reset or timed-out connections (PostgreSQL's connect among them); a full or
    # read-only disk, a temp dir that is not a folder.
    OSError,
    # S3 or SQS: unreachable after botocore's own retries, a connection dropped mid-request or
    # mid-body, or an error answer (5xx, throttling, access denied).
    botocore.exceptions.ConnectionError,
    botocore.exceptions.HTTPClientError,
    botocore.exceptions.IncompleteReadError,
    botocore.exceptions.ClientError,
    # The bucket lacks an object the worker needs (the brand assets before provisioning), or refuses
    # to delete some.
    MissingObject,
    DeleteFailed,
    # PostgreSQL going away as asyncpg reports it.
    *ASYNCPG_OUTAGES,
    # No pooled connection came free in time: the database is slow or away.
    sqlalchemy.exc.TimeoutError,
)


def is_dependency_failure(error: BaseException) -> bool:
    """True when ``error``, or an error it was raised from, is a dependency being away: SQLAlchemy
    wraps asyncpg's errors twice, and marks those that ended the connection."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, _DEPENDENCY_FAILURES):
            return True
        if isinstance(cause, sqlalchemy.exc.DBAPIError) and cause.connection_invalidated:
            return True
        cause = cause.__cause__
    return False


def describe(error: BaseException) -> str:
    """``Class: message`` on one line (SQLAlchemy appends the statement and a link on more lines)."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0]}" if lines else type(error).__name__


def log_failure(log: logging.Logger, message: str, error: BaseException, **fields: object) -> None:
    """A warning of one line for a dependency failure; an error with the traceback for anything else."""
    extra = {**fields, "error": describe(error)}
    if is_dependency_failure(error):
        log.warning(message, extra=extra)
    else:
        log.error(message, extra=extra, exc_info=error)
