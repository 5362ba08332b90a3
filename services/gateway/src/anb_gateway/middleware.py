"""The outermost layer: a request id for every request and the security headers on every response.

A raw ASGI wrapper around the whole app, so that it also covers answers produced before routing
(404, 405) and by exception handlers, at the cost of one closure per request.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send

from anb_common import logs

# A caller's id is kept (it ties our logs to theirs) only when it is short and plain.
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")
_SECURITY = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
]
# Responses that carry tokens or a user's private data must not be kept by browsers or proxies.
_PRIVATE_PREFIXES = ("/api/auth/", "/api/videos")
_NO_STORE = (b"cache-control", b"no-store")


def _request_id(scope: Scope) -> bytes:
    for name, value in scope["headers"]:
        if name == b"x-request-id" and _SAFE_ID.match(value):
            return bytes(value)
    return uuid.uuid4().hex.encode()


class EdgeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # type: ignore[comparison-overlap]  # lifespan passes through
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        extra = [*_SECURITY, (b"x-request-id", request_id)]
        if scope["path"].startswith(_PRIVATE_PREFIXES):
            extra.append(_NO_STORE)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[Any] = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(item for item in extra if item[0] not in present)
                message["headers"] = headers
            await send(message)

        with logs.bound(request_id=request_id.decode()):
            await self.app(scope, receive, send_with_headers)
