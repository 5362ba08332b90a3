"""User access tokens: HS256 JWTs with sub, iat, exp and jti, the algorithm pinned when decoding."""

from __future__ import annotations

import time
import uuid

import jwt

_ALGORITHM = "HS256"
_REQUIRED = ("sub", "iat", "exp", "jti")
# Verified tokens remembered per process. A client sends the same token on every request for up to
# an hour; re-verifying it each time (PyJWT: two JSON decodes, an HMAC, six claim checks) was the
# largest cost of an authenticated read. A hit still checks expiry. Bounded: cleared when full.
_CACHE_SIZE = 10_000


class InvalidToken(Exception):
    """The token is malformed, unsigned, signed with another key or algorithm, or expired."""


class Tokens:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self._secret = secret
        self.ttl_s = ttl_s
        # One reusable decoder; a pinned algorithm list is what stops `alg: none` and key-confusion tricks.
        self._jwt = jwt.PyJWT(options={"require": list(_REQUIRED)})
        self._verified: dict[str, tuple[uuid.UUID, int]] = {}

    def issue(self, user_id: uuid.UUID) -> str:
        now = int(time.time())
        claims = {"sub": str(user_id), "iat": now, "exp": now + self.ttl_s, "jti": uuid.uuid4().hex}
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def subject(self, token: str) -> uuid.UUID:
        known = self._verified.get(token)
        if known is not None:
            if time.time() < known[1]:
                return known[0]
            del self._verified[token]
            raise InvalidToken("token expired")
        try:
            claims = self._jwt.decode(token, self._secret, algorithms=[_ALGORITHM])
            user_id = uuid.UUID(claims["sub"])
            expires = int(claims["exp"])
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise InvalidToken(str(exc)) from exc
        if len(self._verified) >= _CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (user_id, expires)
        return user_id
