"""Who is calling: the bearer token's subject, checked on every request to an authenticated route.

A dependency rather than a middleware: it runs only where a route asks for ``user_id``, and costs one
HMAC and a small JSON decode (no database round trip), which keeps authenticated reads cheap.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import SkipValidation

from anb_gateway import wording
from anb_gateway.tokens import InvalidToken, Tokens

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="anb"'}


def _refuse(detail: str) -> NotAuthorizedException:
    return NotAuthorizedException(detail=detail, headers=_CHALLENGE)


def current_user(
    request: Request[Any, Any, Any], tokens: NamedDependency[SkipValidation[Tokens]]
) -> uuid.UUID:
    header = request.headers.get("authorization")
    if not header:
        raise _refuse(wording.NO_AUTHORIZATION)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _refuse(wording.BAD_AUTHORIZATION)
    try:
        return tokens.subject(token.strip())
    except InvalidToken:
        raise _refuse(wording.BEARER_REFUSED) from None
