"""A route whose body streams to its handler unread (the upload), and how such a route refuses.

Litestar reads nothing of this body before the handler runs, so a refusal (a bad token, a body over
the limit, ingest's verdict, an outage) may leave up to 100 MB unread on the socket. What follows
from that is decided here, once:

- The route is marked by spreading ``STREAMED_ROUTE`` into its decorator: a flag in its ``opt``, no
  body-size limit (the relay counts the bytes, so that too much is the contract's 400, not
  Litestar's 413), the ``after_request`` hook below and ``current_uploader`` as its ``user_id``.
- Every error answer of a marked route carries ``Connection: close``: after an unread body the
  connection cannot carry another request, and a client still sending would otherwise wait. The
  handler's own answers get it from ``after_request``; raised exceptions from ``errors.py``, which
  asks ``close_if_streamed`` because exception handlers run outside the route's hooks.
- A refusal decided while the client may still be sending (its token, ingest's early verdict) first
  reads and drops what is still coming, for a few seconds at most (``drain``): closing under a
  client that is still sending resets the connection, and its buffered answer with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from typing import Any, Final, TypedDict

from litestar import Request, Response
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException
from litestar.params import SkipValidation
from litestar.types import AfterRequestHookHandler

from anb_gateway.authn import current_user
from anb_gateway.tokens import Tokens

STREAMED_BODY: Final = "streamed_body"
"""The flag in a route's ``opt`` that marks its body as streamed."""

# How long a refused body is read and dropped before answering: long enough for a client on a
# normal link to finish, short enough that a slow or endless sender cannot hold the handler.
_DRAIN_S = 5.0


def close_if_streamed(request: Request[Any, Any, Any], headers: Mapping[str, str] | None) -> dict[str, str]:
    """The headers of an error answer, with ``Connection: close`` when the route is marked."""
    merged = dict(headers or {})
    # No route handler yet when routing itself failed (404, 405): nothing was streamed then.
    handler = request.scope.get("route_handler")
    if handler is not None and handler.opt.get(STREAMED_BODY):
        merged["Connection"] = "close"
    return merged


async def _close_after_refusal(response: Response[Any]) -> Response[Any]:
    # Async: Litestar runs a synchronous hook in a worker thread.
    if response.status_code is not None and response.status_code >= 400:
        response.headers["Connection"] = "close"
    return response


async def drain(request: Request[Any, Any, Any]) -> None:
    """Read and drop what is left of the body, for ``_DRAIN_S`` at most."""
    with contextlib.suppress(Exception):  # a timeout or a client gone: either way, answer now
        async with asyncio.timeout(_DRAIN_S):
            async for _ in request.stream():
                pass


async def current_uploader(
    request: Request[Any, Any, Any], tokens: NamedDependency[SkipValidation[Tokens]]
) -> uuid.UUID:
    """``current_user`` for a streamed route: a refusal drains the body first, so that a client still
    sending sees the 401 instead of a reset."""
    try:
        return current_user(request, tokens)
    except NotAuthorizedException:
        await drain(request)
        raise


class StreamedRoute(TypedDict):
    opt: Mapping[str, Any]
    request_max_body_size: None
    after_request: AfterRequestHookHandler
    dependencies: Mapping[str, Provide]


STREAMED_ROUTE: Final = StreamedRoute(
    opt={STREAMED_BODY: True},
    request_max_body_size=None,
    after_request=_close_after_refusal,
    dependencies={"user_id": Provide(current_uploader)},
)
"""Keyword arguments of a route decorator that mark its body as streamed (see the module's docstring)."""
