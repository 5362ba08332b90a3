"""User access tokens: HS256 JWTs with sub, iat, exp and jti, the algorithm pinned when decoding."""

from __future__ import annotations

import time
import uuid

import jwt

_ALGORITHM = "HS256"
_REQUIRED = ("sub", "iat", "exp", "jti")


class InvalidToken(Exception):
    """The token is malformed, unsigned, signed with another key or algorithm, or expired."""


class Tokens:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self._secret = secret
        self.ttl_s = ttl_s
        # One reusable decoder; a pinned algorithm list is what stops `alg: none` and key-confusion tricks.
        self._jwt = jwt.PyJWT(options={"require": list(_REQUIRED)})

    def issue(self, user_id: uuid.UUID) -> str:
        now = int(time.time())
        claims = {"sub": str(user_id), "iat": now, "exp": now + self.ttl_s, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def subject(self, token: str) -> uuid.UUID:
        try:
            claims = self._jwt.decode(token, self._secret, algorithms=[_ALGORITHM])
            return uuid.UUID(claims["sub"])
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidToken(str(exc)) from exc
