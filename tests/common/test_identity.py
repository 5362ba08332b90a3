"""The internal identity token: signed, short-lived, bound to one request, accepted once."""

from __future__ import annotations

import time
import uuid
from typing import Any

import jwt
import pytest

from anb_common.identity import IdentityError, SeenNonces, sign, verify

SECRET = "k" * 32
UPLOAD: dict[str, str] = {"method": "POST", "path": "/internal/uploads"}


def _claims(**override: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "aud": "anb-internal",
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        "htm": "POST",
        "htu": "/internal/uploads",
    }
    return {key: value for key, value in {**claims, **override}.items() if value is not None}


def test_round_trip() -> None:
    user = uuid.uuid4()
    assert verify(sign(user, SECRET, **UPLOAD), SECRET, **UPLOAD, seen=SeenNonces()) == user


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "garbage",
        sign(uuid.uuid4(), "other-secret-" + "z" * 32, **UPLOAD),
        sign(uuid.uuid4(), SECRET, **UPLOAD, ttl_s=-10),
        jwt.encode(_claims(iat=0, exp=2**40), key="", algorithm="none"),
        jwt.encode(_claims(sub="not-a-uuid"), SECRET, algorithm="HS256"),
        jwt.encode(_claims(aud="someone-else"), SECRET, algorithm="HS256"),
        # Tokens of the previous format, bound to no request.
        jwt.encode(_claims(htm=None, htu=None), SECRET, algorithm="HS256"),
        jwt.encode(_claims(jti=None), SECRET, algorithm="HS256"),
    ],
)
def test_refuses_bad_tokens(token: str | None) -> None:
    with pytest.raises(IdentityError):
        verify(token, SECRET, **UPLOAD, seen=SeenNonces())


@pytest.mark.parametrize(
    ("method", "path"),
    [("PATCH", "/internal/uploads"), ("POST", "/internal/uploads/other"), ("DELETE", "/internal/uploads")],
)
def test_a_token_for_one_request_opens_no_other(method: str, path: str) -> None:
    token = sign(uuid.uuid4(), SECRET, **UPLOAD)
    with pytest.raises(IdentityError, match="token is for POST /internal/uploads"):
        verify(token, SECRET, method=method, path=path, seen=SeenNonces())


def test_the_method_is_compared_without_case() -> None:
    user = uuid.uuid4()
    token = sign(user, SECRET, method="post", path="/internal/uploads")
    assert verify(token, SECRET, method="POST", path="/internal/uploads", seen=SeenNonces()) == user


def test_a_token_is_accepted_once() -> None:
    seen = SeenNonces()
    token = sign(uuid.uuid4(), SECRET, **UPLOAD)
    verify(token, SECRET, **UPLOAD, seen=seen)
    with pytest.raises(IdentityError, match="already used"):
        verify(token, SECRET, **UPLOAD, seen=seen)


def test_seen_nonces_forget_expired_ones_and_stay_bounded() -> None:
    seen = SeenNonces(capacity=3)
    assert seen.first_use("a", expires_at=100, now=50)
    assert not seen.first_use("a", expires_at=100, now=60)
    assert seen.first_use("b", expires_at=200, now=60)
    # At 150, "a" has expired: it is dropped, and could no longer be replayed anyway (its token expired).
    assert seen.first_use("c", expires_at=210, now=150)
    assert seen.first_use("a", expires_at=250, now=150)
    # Full (b, c, a): the oldest live one makes room.
    assert seen.first_use("d", expires_at=260, now=150)
    assert len(seen._expiries) == 3
    assert not seen.first_use("d", expires_at=260, now=151)
