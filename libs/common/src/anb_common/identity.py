"""The caller's identity as the gateway hands it to internal services: a short-lived signed token,
bound to the one request it authorizes.

Ingest is reachable only inside the VPC, but a token still means that a request which did not come
through the gateway's authentication (a misrouted ALB rule, a compromised neighbour) is refused. The
token names the request's method and path (as DPoP proofs do, RFC 9449 ``htm``/``htu``) and carries a
nonce (``jti``) that the receiver accepts once: a token read off one request (a log line, a proxy)
can neither be replayed nor used for another endpoint.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict

import jwt

HEADER = "X-ANB-Identity"
_AUDIENCE = "anb-internal"
_ALGORITHM = "HS256"
# Long enough for a 100 MB upload to start streaming; the token is checked once, when the request arrives.
TTL_S = 60
_REQUIRED = ["sub", "aud", "iat", "exp", "jti", "htm", "htu"]


class IdentityError(Exception):
    """The internal token is missing, malformed, expired, replayed, meant for another request, or not
    signed with our key."""


class SeenNonces:
    """The nonces of tokens already accepted, each kept until its token would expire anyway.

    Bounded: past ``capacity`` live nonces the oldest is forgotten (a token that old is near its
    expiry). Insertion order is expiry order, because every token lives ``TTL_S``, so expired
    entries are dropped from the front: O(1) per request on average.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._expiries: OrderedDict[str, int] = OrderedDict()

    def first_use(self, nonce: str, expires_at: int, now: int) -> bool:
        """Record ``nonce``; False when it was seen before (a replay)."""
        while self._expiries and next(iter(self._expiries.values())) < now:
            self._expiries.popitem(last=False)
        if nonce in self._expiries:
            return False
        if len(self._expiries) >= self._capacity:
            self._expiries.popitem(last=False)
        self._expiries[nonce] = expires_at
        return True


def sign(user_id: uuid.UUID, secret: str, *, method: str, path: str, ttl_s: int = TTL_S) -> str:
    """A token for one request: ``method`` and ``path`` (no query) of the internal call."""
    now = int(time.time())
    claims = {
        "sub": str(user_id),
        "aud": _AUDIENCE,
        "iat": now,
        "exp": now + ttl_s,
        "jti": uuid.uuid4().hex,
        "htm": method.upper(),
        "htu": path,
    }
    return jwt.encode(claims, secret, algorithm=_ALGORITHM)


def verify(token: str | None, secret: str, *, method: str, path: str, seen: SeenNonces) -> uuid.UUID:
    """The user the token names, if signed with ``secret`` for this very request and not used before."""
    if not token:
        raise IdentityError("missing internal identity token")
    try:
        claims = jwt.decode(
            token, secret, algorithms=[_ALGORITHM], audience=_AUDIENCE, options={"require": _REQUIRED}
        )
        user_id = uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise IdentityError(f"invalid internal identity token: {exc}") from exc
    if claims["htm"] != method.upper() or claims["htu"] != path:
        raise IdentityError(f"token is for {claims['htm']} {claims['htu']}, not {method.upper()} {path}")
    if not seen.first_use(str(claims["jti"]), int(claims["exp"]), int(time.time())):
        raise IdentityError("token already used")
    return user_id
