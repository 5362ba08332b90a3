"""Every error leaves as ``{"status_code", "detail"}``; no trace or query text ever reaches a client."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from anb_common import logs
from anb_common.db.outages import ASYNCPG_OUTAGES
from anb_gateway import wording
from anb_gateway.streamed_upload import close_if_streamed

log = logging.getLogger(__name__)


def _body(status_code: int, detail: str, headers: dict[str, str]) -> Response[Any]:
    return Response(
        {"status_code": status_code, "detail": detail}, status_code=status_code, headers=headers or None
    )


def validation_detail(exc: ValidationException) -> str:
    """One sentence per broken rule: which field (or parameter) and what it must be."""
    problems = exc.extra if isinstance(exc.extra, list) else []
    parts = [
        wording.invalid(problem.get("key"), str(problem.get("message", "")))
        for problem in problems
        if isinstance(problem, dict)
    ]
    return " ".join(parts) or wording.reworded(exc.detail)


def on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return _body(400, validation_detail(exc), close_if_streamed(request, None))


def on_http(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    headers = close_if_streamed(request, exc.headers)
    if exc.status_code >= 500:
        log.error("%s %s answered %s: %s", request.method, request.url.path, exc.status_code, exc.detail)
        return _body(exc.status_code, _internal_detail(), headers)
    # The framework's own answers (an unknown route, a method not served, a body that is not JSON)
    # are English; the gateway's own are kept.
    if exc.detail == HTTPStatus(exc.status_code).phrase:
        return _body(exc.status_code, wording.http_status(exc.status_code), headers)
    return _body(exc.status_code, wording.reworded(exc.detail), headers)


def _internal_detail() -> str:
    return wording.internal_error(logs.current().get("request_id", ""))


# A database outage as asyncpg reports it, plus the socket-level errors of a connect that failed and
# a pool acquire that timed out.
DATABASE_OUTAGES: tuple[type[Exception], ...] = (*ASYNCPG_OUTAGES, ConnectionError, TimeoutError, OSError)


def on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, DATABASE_OUTAGES):
        # Not a bug of ours and not the client's: say so, so that clients and the ALB retry later.
        log.warning("database unavailable in %s %s: %r", request.method, request.url.path, exc)
        return _body(
            503,
            wording.UNAVAILABLE,
            close_if_streamed(request, {"Retry-After": "5"}),
        )
    # The trace goes to the log with the request id bound by the edge middleware; the client gets the id.
    log.exception("unhandled error in %s %s", request.method, request.url.path)
    return _body(HTTP_500_INTERNAL_SERVER_ERROR, _internal_detail(), close_if_streamed(request, None))


HANDLERS: ExceptionHandlersMap = {
    ValidationException: on_validation,
    HTTPException: on_http,
    Exception: on_unexpected,
}
