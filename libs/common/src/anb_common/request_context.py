"""Each HTTP request's id, bound with its clock for every log line of the request (uvicorn's access
line included): the caller's ``X-Request-ID`` when it is short and plain (the gateway's, which ties
ingest's lines to its own), a new one otherwise."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from anb_common import logs

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADER = "X-Request-ID"
# A caller's id is kept (it ties our logs to theirs) only when it is short and plain.
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


def request_id(headers: Iterable[tuple[bytes, bytes]]) -> str:
    for name, value in headers:
        if name == b"x-request-id" and _SAFE_ID.match(value):
            return value.decode()
    return uuid.uuid4().hex


class RequestContext:
    """ASGI middleware: every HTTP request runs inside ``logs.request`` with its id."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with logs.request(request_id(scope["headers"])):
            await self.app(scope, receive, send)
