from __future__ import annotations

import time
import uuid

import jwt
import pytest

from anb_common.identity import IdentityError, sign, verify

SECRET = "k" * 32


def test_round_trip() -> None:
    user = uuid.uuid4()
    assert verify(sign(user, SECRET), SECRET) == user


@pytest.mark.parametrize(
    "token",
    [
        None,
        "",
        "garbage",
        sign(uuid.uuid4(), "other-secret-" + "z" * 32),
        sign(uuid.uuid4(), SECRET, ttl_s=-10),
        jwt.encode(
            {"sub": str(uuid.uuid4()), "aud": "anb-internal", "iat": 0, "exp": 2**40, "jti": "x"},
            key="",
            algorithm="none",
        ),
        jwt.encode(
            {
                "sub": "not-a-uuid",
                "aud": "anb-internal",
                "iat": int(time.time()),
                "exp": int(time.time()) + 60,
                "jti": "x",
            },
            SECRET,
            algorithm="HS256",
        ),
        jwt.encode(
            {
                "sub": str(uuid.uuid4()),
                "aud": "someone-else",
                "iat": int(time.time()),
                "exp": int(time.time()) + 60,
                "jti": "x",
            },
            SECRET,
            algorithm="HS256",
        ),
    ],
)
def test_refuses_bad_tokens(token: str | None) -> None:
    with pytest.raises(IdentityError):
        verify(token, SECRET)
