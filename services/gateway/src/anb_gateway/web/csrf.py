"""CSRF protection of the web app's forms and state-changing requests: a signed double-submit token.

The token is a random nonce with its HMAC (a key derived from the token-signing key), kept in an
HttpOnly cookie and repeated by every unsafe request, in the ``_csrf`` field of a urlencoded form or
the ``X-CSRF-Token`` header (htmx and the page scripts read it from the page's ``<meta>``), or for
the upload form without scripts in its action's query string. A
request is refused (403) unless both are present, both carry a valid signature and they are equal:
a cross-site page can make the browser send the cookie (only on top-level GETs, given SameSite=Lax)
but can neither read it nor forge a signed token.

Our own rather than Litestar's ``CSRFMiddleware``: that one reads a multipart body whole to look for
the field when no header is sent (an unauthenticated way to make us spool 100 MB on the upload
route), fixes ``Secure`` at start-up, and answers in English. This guard reads a urlencoded form only
(the web forms are small; Litestar caches it for the handler) and never a multipart one: uploads
must send the header. It is a guard of the web router only, so ``/api`` pays nothing for it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from anb_gateway.web.session import is_secure

CSRF_COOKIE = "anb_csrf"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_ISSUED = "anb_csrf_issued"  # scope key: a token made for this response, whose cookie must be set


class CsrfRefused(PermissionDeniedException):
    """The request carried no valid token, or not the one of its cookie."""


class Csrf:
    def __init__(self, signing_key: str) -> None:
        self._key = hmac.new(signing_key.encode(), b"anb-web-csrf", hashlib.sha256).digest()

    def _signature(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()

    def issue(self) -> str:
        nonce = secrets.token_urlsafe(24)
        return f"{nonce}.{self._signature(nonce)}"

    def valid(self, token: str | None) -> bool:
        if not token or token.count(".") != 1:
            return False
        nonce, signature = token.split(".")
        return hmac.compare_digest(signature, self._signature(nonce))

    def token(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        """The token this page's forms carry: the cookie's, or a new one (its cookie set by ``keep``)."""
        issued: str | None = connection.scope.get(_ISSUED)  # type: ignore[assignment]
        if issued is not None:
            return issued
        existing = connection.cookies.get(CSRF_COOKIE)
        if self.valid(existing):
            return existing  # type: ignore[return-value]
        fresh = self.issue()
        connection.scope[_ISSUED] = fresh  # type: ignore[literal-required]
        return fresh

    @staticmethod
    def keep(connection: ASGIConnection[Any, Any, Any, Any], response: Response[Any]) -> None:
        """Set the cookie of a token issued while answering this request."""
        issued: str | None = connection.scope.get(_ISSUED)  # type: ignore[assignment]
        if issued is not None:
            # Written out rather than through litestar's Cookie (which deep-copies itself to encode):
            # every first visit of the gallery pays for it.
            secure = "; Secure" if is_secure(connection) else ""
            response.headers["Set-Cookie"] = f"{CSRF_COOKIE}={issued}; HttpOnly; Path=/; SameSite=Lax{secure}"

    async def guard(self, connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        """The web router's guard: every unsafe request must repeat its cookie's token."""
        # Async so that Litestar runs it on the loop (a synchronous guard goes to a worker thread).
        if connection.scope.get("method", "GET") in _SAFE_METHODS:
            return
        sent = connection.headers.get(CSRF_HEADER)
        content_type = connection.headers.get("content-type", "")
        if sent is None and content_type.startswith("application/x-www-form-urlencoded"):
            assert isinstance(connection, Request)
            form = await connection.form()
            field = form.get(CSRF_FIELD)
            sent = field if isinstance(field, str) else None
        elif sent is None and content_type.startswith("multipart/form-data"):
            # The upload form without scripts: the token rides in its action's query string, as the
            # body is never read here (Referrer-Policy: no-referrer keeps it off other sites).
            sent = connection.query_params.get(CSRF_FIELD)
        cookie = connection.cookies.get(CSRF_COOKIE)
        if not (self.valid(sent) and self.valid(cookie) and hmac.compare_digest(sent or "", cookie or "")):
            raise CsrfRefused()
