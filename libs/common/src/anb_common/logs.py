"""Structured JSON logs; a request id or job id set once is carried by every record after it."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

_context: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("anb_log_context", default={})  # noqa: B039
# When the HTTP request being served arrived (perf_counter), for the access line's latency.
_request_started: contextvars.ContextVar[float] = contextvars.ContextVar("anb_request_started", default=0.0)

# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged as a field.
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": self._service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_context.get())
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class _AccessLine(logging.Filter):
    """uvicorn's access record (``'%s - "%s %s HTTP/%s" %d'``: client, method, path, HTTP version,
    status) as fields, with ``latency_ms`` from the request's arrival to its response's start (the
    moment uvicorn logs it: a stream's line is not held until it ends)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, version, status = record.args
            record.msg, record.args = "%s %s %s", (method, path, status)
            fields = {"client": client, "method": method, "path": path, "http": version, "status": status}
            record.__dict__.update(fields)
            started = _request_started.get()
            if started:
                record.latency_ms = round((time.perf_counter() - started) * 1000, 1)
        return True


def _adopt_uvicorn() -> None:
    """uvicorn's own loggers (start-up, errors, access) into our JSON lines, whatever log config
    uvicorn was started with: the app factory runs after uvicorn set up its plain-text handlers, so
    no ``--log-config`` flag is needed. An access log turned off (``--no-access-log``) stays off."""
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")
    if access.handlers or access.propagate:
        access.handlers.clear()
        access.propagate = True
    if not any(isinstance(known, _AccessLine) for known in access.filters):
        access.addFilter(_AccessLine())


def configure(service: str, level: str = "INFO") -> None:
    """Send every logger's records, uvicorn's included, to stdout as one JSON object per line."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    _adopt_uvicorn()
    # botocore logs request bodies at DEBUG; keep it quiet so that nothing sensitive leaks by default.
    for noisy in ("botocore", "aiobotocore", "urllib3", "httpx", "httpcore", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextmanager
def bound(**fields: str) -> Iterator[None]:
    """Add fields (request_id, job_id, video_id...) to every record logged inside the block."""
    token = _context.set({**_context.get(), **fields})
    try:
        yield
    finally:
        _context.reset(token)


@contextmanager
def request(request_id: str) -> Iterator[None]:
    """Bind ``request_id`` for every record of one HTTP request and start its clock (the access
    line's ``latency_ms``)."""
    token = _context.set({**_context.get(), "request_id": request_id})
    clock = _request_started.set(time.perf_counter())
    try:
        yield
    finally:
        _request_started.reset(clock)
        _context.reset(token)


def current() -> dict[str, str]:
    return dict(_context.get())
