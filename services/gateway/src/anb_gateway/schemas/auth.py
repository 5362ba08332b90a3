"""Signup and login bodies, field for field as in the contract."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

# Non-empty after trimming: a name of spaces is as missing as an empty one.
_NOT_BLANK = r"\S"
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=_NOT_BLANK)]
# Deliberately simple: one @, something before it, a dotted domain after it, no spaces. Deliverability
# is not decidable by a pattern; a stricter one only rejects real addresses.
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
# The upper bound keeps a megabyte "password" from costing a megabyte of hashing.
Password = Annotated[str, msgspec.Meta(min_length=8, max_length=128)]
LoginPassword = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class SignupRequest(msgspec.Struct, forbid_unknown_fields=True):
    first_name: Name
    last_name: Name
    email: Email
    password1: Password
    password2: Password
    city: Name
    country: Name


class SignupResponse(msgspec.Struct):
    message: str
    user_id: uuid.UUID


class LoginRequest(msgspec.Struct, forbid_unknown_fields=True):
    email: Annotated[str, msgspec.Meta(min_length=1, max_length=254)]
    password: LoginPassword


class TokenResponse(msgspec.Struct):
    access_token: str
    token_type: str
    expires_in: int
