"""Liveness that means something: 200 only when the database answers."""

from __future__ import annotations

import asyncio
import logging

import msgspec
from litestar import Response, get

from anb_gateway import wording
from anb_gateway.deps import PoolDep

log = logging.getLogger(__name__)

# A health probe that hangs is worse than one that fails: the load balancer's own timeout is ~5 s.
_PROBE_TIMEOUT_S = 2.0


class Health(msgspec.Struct):
    status: str


@get("/api/health", summary="Estado del servicio", tags=["health"])
async def health(pool: PoolDep) -> Response[object]:
    try:
        await asyncio.wait_for(pool.fetchval("SELECT 1"), _PROBE_TIMEOUT_S)
    except Exception as exc:  # whatever the cause (refused, timeout, auth), we cannot serve
        log.warning("health check failed: %r", exc)
        body = {"status": "unavailable", "status_code": 503, "detail": wording.DATABASE_DOWN}
        return Response(body, status_code=503)
    return Response(Health(status="ok"))
