"""The web session: an HttpOnly cookie that carries the same access token the API hands out.

The cookie's value is the token of ``POST /api/auth/login`` itself, so the session follows the API's
token rules exactly (HS256, the same key, ``exp`` after ``ANB_AUTH_TOKEN_TTL_S``) and is verified by
the same ``Tokens`` (and its cache of verified tokens). ``SameSite=Lax`` keeps it off cross-site
posts; ``Secure`` follows the scheme the request arrived with, which uvicorn takes from
``X-Forwarded-Proto`` only when the peer is a trusted proxy (``--forwarded-allow-ips``), so a client
cannot talk the gateway out of it behind HTTPS, nor into it on plain http for ``make run``.

``/api`` ignores the cookie, except where the contract says "or the web session cookie" (events,
tus): those routes take ``bearer_or_cookie_user`` as their ``user_id``.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.params import SkipValidation

from anb_gateway.authn import current_user
from anb_gateway.tokens import InvalidToken, Tokens

SESSION_COOKIE = "anb_session"


def cookie_user(connection: ASGIConnection[Any, Any, Any, Any], tokens: Tokens) -> uuid.UUID | None:
    """The player whose valid, unexpired session cookie came with the request, else None."""
    token = connection.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        return tokens.subject(token)
    except InvalidToken:
        return None


def bearer_or_cookie_user(
    request: Request[Any, Any, Any], tokens: NamedDependency[SkipValidation[Tokens]]
) -> uuid.UUID:
    """``user_id`` for the ``/api`` routes that also accept the web session: the Bearer token when the
    request has an Authorization header (answered exactly as ``authn.current_user`` answers), else
    the session cookie; 401 as ``current_user`` when neither is valid.

    Use: ``dependencies={"user_id": Provide(bearer_or_cookie_user, sync_to_thread=False)}``.
    """
    if "authorization" not in request.headers:
        user = cookie_user(request, tokens)
        if user is not None:
            return user
    return current_user(request, tokens)


def is_secure(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    """Whether the browser reached us over HTTPS (directly, or through a trusted proxy)."""
    return connection.scope.get("scheme") == "https"


def session_cookie(connection: ASGIConnection[Any, Any, Any, Any], token: str, max_age_s: int) -> Cookie:
    """The cookie that opens a session with ``token`` (as ``POST /api/auth/login`` issued it)."""
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        max_age=max_age_s,
        path="/",
        httponly=True,
        secure=is_secure(connection),
        samesite="lax",
    )


def end_session(connection: ASGIConnection[Any, Any, Any, Any], response: Response[Any]) -> None:
    """Have the browser forget the session cookie."""
    response.delete_cookie(SESSION_COOKIE, path="/")
    # delete_cookie sets no flags; the expired copy carries the same ones as the live cookie.
    for cookie in response.cookies:
        if cookie.key == SESSION_COOKIE:
            cookie.httponly, cookie.samesite, cookie.secure = True, "lax", is_secure(connection)
