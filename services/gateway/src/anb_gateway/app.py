"""Gateway application factory (``uvicorn --factory anb_gateway.app:create_app``)."""

from __future__ import annotations

from litestar import Litestar, get

from anb_common import logs


@get("/api/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    logs.configure("gateway")
    return Litestar(route_handlers=[health])
