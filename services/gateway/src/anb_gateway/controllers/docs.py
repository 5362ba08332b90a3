"""The OpenAPI schema at the contract's address, /api/openapi.json."""

from __future__ import annotations

from typing import Any

from litestar import Request, get


@get("/api/openapi.json", include_in_schema=False, sync_to_thread=False)
def openapi_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return request.app.openapi_schema.to_schema()
