"""The outermost layer: a request id, a clock and the security headers for every request, and the
request figures (``Requests`` by status class, ``RequestLatency`` by route) for every response.

A raw ASGI wrapper around the whole app, so that it also covers answers produced before routing
(404, 405) and by exception handlers, at the cost of one closure per request. The figures are two
pre-built series (anb_common.metrics): a few dict operations, no lock, no I/O.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from anb_common import logs
from anb_common.metrics import Metric, Metrics, Series
from anb_common.request_context import request_id

_SECURITY = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
]
# Responses that carry tokens or a user's private data must not be kept by browsers or proxies.
_PRIVATE_PREFIXES = ("/api/auth/", "/api/videos")
_NO_STORE = (b"cache-control", b"no-store")
# The contract's Route dimension: uploads last as long as their bodies, so they are told apart.
_UPLOAD_PATHS = frozenset({"/api/videos/upload"})


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics | None = None) -> None:
        self.app = app
        metrics = metrics or Metrics()
        self._latency = {
            route: metrics.series(Metric.REQUEST_LATENCY, Route=route) for route in ("upload", "api")
        }
        self._requests: dict[int, Series] = {
            hundreds: metrics.series(Metric.REQUESTS, StatusClass=f"{hundreds}xx") for hundreds in range(1, 6)
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]  # lifespan passes through
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        identifier = request_id(scope["headers"])
        extra = [*_SECURITY, (b"x-request-id", identifier.encode())]
        if scope["path"].startswith(_PRIVATE_PREFIXES):
            extra.append(_NO_STORE)
        # Until a response starts, what uvicorn answers for an app that failed.
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers: list[Any] = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in extra if item[0] not in present)
                message["headers"] = headers
            await send(message)

        try:
            with logs.request(identifier):
                await self.app(scope, receive, send_with_headers)
        finally:
            # The app returns once its last byte is sent (or it failed): received to last byte.
            route = "upload" if scope["path"] in _UPLOAD_PATHS else "api"
            self._latency[route].add((time.perf_counter() - started) * 1000)
            self._requests[min(5, max(1, status // 100))].add()
