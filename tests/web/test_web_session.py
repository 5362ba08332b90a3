"""anb_gateway.web.session: the cookie's flags and who it names, and the dependency the /api routes
open to the web session (events, tus) use."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest
from litestar import Litestar, Request, get
from litestar.di import NamedDependency, Provide
from litestar.testing import TestClient

from anb_gateway import errors
from anb_gateway.tokens import Tokens
from anb_gateway.web.session import SESSION_COOKIE, bearer_or_cookie_user, session_cookie

SECRET = "s" * 40


def _app(tokens: Tokens) -> Litestar:
    @get("/api/who", dependencies={"user_id": Provide(bearer_or_cookie_user, sync_to_thread=False)})
    async def who(user_id: NamedDependency[uuid.UUID]) -> dict[str, str]:
        return {"user_id": str(user_id)}

    return Litestar(
        [who],
        dependencies={"tokens": Provide(lambda: tokens, sync_to_thread=False)},
        exception_handlers=errors.HANDLERS,
    )


@pytest.fixture
def tokens() -> Tokens:
    return Tokens(SECRET, 3600)


def test_cookie_or_bearer_names_the_player(tokens: Tokens) -> None:
    ana, luis = uuid.uuid4(), uuid.uuid4()
    with TestClient(_app(tokens)) as client:
        client.cookies.set(SESSION_COOKIE, tokens.issue(ana))
        assert client.get("/api/who").json() == {"user_id": str(ana)}
        # A Bearer token, when sent, decides alone: the cookie is not a fallback for a bad header.
        bearer = {"Authorization": f"Bearer {tokens.issue(luis)}"}
        assert client.get("/api/who", headers=bearer).json() == {"user_id": str(luis)}
        refused = client.get("/api/who", headers={"Authorization": "Bearer nope"})
        assert refused.status_code == 401
        assert refused.json()["detail"] == "Token inválido o expirado."


def test_expired_or_forged_cookie_is_no_session(tokens: Tokens) -> None:
    now = int(time.time())
    expired = jwt.encode(
        {"sub": str(uuid.uuid4()), "iat": now - 7200, "exp": now - 3600, "jti": "x"}, SECRET, "HS256"
    )
    forged = Tokens("f" * 40, 3600).issue(uuid.uuid4())
    with TestClient(_app(tokens)) as client:
        for token in (expired, forged, "garbage"):
            client.cookies.set(SESSION_COOKIE, token)
            answer = client.get("/api/who")
            assert answer.status_code == 401, token
            assert answer.headers["www-authenticate"] == 'Bearer realm="anb"'
        client.cookies.clear()
        assert client.get("/api/who").status_code == 401


@pytest.mark.parametrize(("scheme", "secure"), [("http", False), ("https", True)])
def test_session_cookie_flags(scheme: str, secure: bool) -> None:
    scope = {"type": "http", "scheme": scheme, "headers": [], "path": "/", "query_string": b""}
    cookie = session_cookie(Request(scope), "token", 3600)  # type: ignore[arg-type]
    assert (cookie.httponly, cookie.samesite, cookie.secure, cookie.path) == (True, "lax", secure, "/")
    assert cookie.max_age == 3600
