"""The web app as a client of the API, in the same process: each action is the API's own request,
dispatched to the same Litestar app without a socket.

So a page signs up, logs in, votes, publishes and deletes through exactly the code, rules, limits
and Spanish messages the contract describes (the login of the page counts against the same
per-address and per-account limits: the original client's address travels in the scope), and it
shows whatever the API answers, the fields other work adds to it included (``poster_url``,
``storyboard_url``, ``hls_url``) without the web app knowing where they come from.

A call costs the API's routing and handler, not a connection (about 0.1 ms on top of the handler).
The upload relays the browser's body as it streams: the API route reads it from the page request's
own ``receive``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import msgspec
from litestar import Request
from litestar.types import ASGIApp, HTTPReceiveMessage, HTTPScope, Message, Receive

from anb_gateway.tokens import Tokens

_encode = msgspec.json.encode
_decode = msgspec.json.decode
# The page request's headers that the API call keeps: who is calling from where, for logs and limits.
_KEPT_HEADERS = frozenset({b"host", b"user-agent", b"x-request-id"})
_OWNER_TOKENS = 10_000


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return _decode(self.body) if self.body else None

    @property
    def detail(self) -> str:
        """The API's own sentence for a refusal (``detail``), or its ``message`` for a success."""
        data = self.json() if self.body.startswith(b"{") else None
        if isinstance(data, dict):
            return str(data.get("detail") or data.get("message") or "")
        return ""


class Api:
    def __init__(self, tokens: Tokens) -> None:
        self._tokens = tokens
        self._owner_tokens: dict[uuid.UUID, tuple[str, float]] = {}

    async def call(
        self,
        request: Request[Any, Any, Any],
        method: str,
        path: str,
        *,
        token: str | None = None,
        query: Mapping[str, Any] | None = None,
        json: Any = None,
        relay_body: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """``method path`` as the API answers it, with ``token`` as the Bearer token when given."""
        sent: list[tuple[bytes, bytes]] = [
            (name, value) for name, value in request.scope["headers"] if name in _KEPT_HEADERS
        ]
        body = b""
        if json is not None:
            body = _encode(json)
            sent.append((b"content-type", b"application/json"))
            sent.append((b"content-length", str(len(body)).encode()))
        if token is not None:
            sent.append((b"authorization", b"Bearer " + token.encode()))
        for name, value in (headers or {}).items():
            sent.append((name.lower().encode(), value.encode("latin-1")))
        query_string = urlencode({k: v for k, v in (query or {}).items() if v is not None})
        scope: HTTPScope = {  # type: ignore[typeddict-item]
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": request.scope.get("scheme", "http"),
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query_string.encode(),
            "headers": sent,
            "client": request.scope.get("client"),
            "server": request.scope.get("server"),
            "state": {},
        }
        receive: Receive = request.receive if relay_body else _body_once(body)
        status = 500
        answered: dict[str, str] = {}
        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                for name, value in message.get("headers", ()):
                    answered[name.decode("latin-1").lower()] = value.decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        app: ASGIApp = request.app
        await app(scope, receive, send)
        return Answer(status, answered, b"".join(chunks))

    def owner_token(self, owner: uuid.UUID) -> str:
        """A token of ``owner``, to read a *published* video's links through the owner's detail
        (``GET /api/videos/{id}``): the API has no public detail of one video, and the links its
        fields carry (poster, storyboard, HLS, MP4) are public once the video is. Used for nothing
        else; reused for half its life, so that the token cache is not filled with one per view."""
        now = time.monotonic()
        known = self._owner_tokens.get(owner)
        if known is not None and known[1] > now:
            return known[0]
        if len(self._owner_tokens) >= _OWNER_TOKENS:
            self._owner_tokens.clear()
        token = self._tokens.issue(owner)
        self._owner_tokens[owner] = (token, now + self._tokens.ttl_s / 2)
        return token


def _body_once(body: bytes) -> Receive:
    sent = False

    async def receive() -> HTTPReceiveMessage:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
