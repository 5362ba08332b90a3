"""OpenAPI pieces shared by the controllers: the error responses with examples, and the bearer scheme."""

from __future__ import annotations

from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example, SecurityRequirement

from anb_gateway import wording
from anb_gateway.schemas.common import ErrorBody

BEARER: list[SecurityRequirement] = [{"BearerAuth": []}]


def error(status_code: int, description: str, detail: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=ErrorBody,
        description=description,
        examples=[Example(summary=description, value={"status_code": status_code, "detail": detail})],
    )


UNAUTHORIZED = error(401, "Falta el token, es inválido o expiró", wording.BEARER_REFUSED)
FORBIDDEN = error(403, "El video pertenece a otro usuario", wording.NOT_YOURS)
NOT_FOUND = error(404, "No existe el video", wording.VIDEO_NOT_FOUND)
BAD_PARAMETER = error(400, "Parámetro inválido", wording.invalid("limit", "Expected `int` <= 100"))
