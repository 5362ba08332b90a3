"""Ingest application factory (``uvicorn --factory anb_ingest.app:create_app``)."""

from __future__ import annotations

from litestar import Litestar, get

from anb_common import logs


@get("/internal/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    logs.configure("ingest")
    return Litestar(route_handlers=[health])
