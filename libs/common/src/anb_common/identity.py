"""The caller's identity as the gateway hands it to internal services: a short-lived signed token.

Ingest is reachable only inside the VPC, but a token still means that a request which did not come
through the gateway's authentication (a misrouted ALB rule, a compromised neighbour) is refused.
"""

from __future__ import annotations

import time
import uuid

import jwt

HEADER = "X-ANB-Identity"
_AUDIENCE = "anb-internal"
_ALGORITHM = "HS256"
# Long enough for a 100 MB upload to start streaming; the token is checked once, when the request arrives.
TTL_S = 60


class IdentityError(Exception):
    """The internal token is missing, malformed, expired or not signed with our key."""


def sign(user_id: uuid.UUID, secret: str, ttl_s: int = TTL_S) -> str:
    now = int(time.time())
    claims = {"sub": str(user_id), "aud": _AUDIENCE, "iat": now, "exp": now + ttl_s, "jti": uuid.uuid4().hex}
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify(token: str | None, secret: str) -> uuid.UUID:
    if not token:
        raise IdentityError("missing internal identity token")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            options={"require": ["sub", "aud", "iat", "exp", "jti"]},
        )
        return uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise IdentityError(f"invalid internal identity token: {exc}") from exc
