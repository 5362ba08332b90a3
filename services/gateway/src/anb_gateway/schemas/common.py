"""Types shared by every domain: the error body and the pagination bounds of the contract."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar.params import Parameter


class ErrorBody(msgspec.Struct):
    status_code: int
    detail: str


class MessageBody(msgspec.Struct):
    message: str


Offset = Annotated[int, Parameter(ge=0, le=1_000_000, description="Rows to skip (>= 0).")]
City = Annotated[
    str | None, Parameter(min_length=1, max_length=100, description="Only players from this city.")
]
