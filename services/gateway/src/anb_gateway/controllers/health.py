"""Liveness for the load balancer, readiness for everything else.

``/api/live`` asks nothing of the database: the target group checks it, and a database failover must
not make every web host unhealthy at once (deploy/README.md, Health checks). ``/api/health`` is the
contract's deep check: 200 only when the database answers. Both name the release the process runs.
"""

from __future__ import annotations

import msgspec
from litestar import Response, get
from litestar.datastructures import State

from anb_common.readiness import NotReady
from anb_gateway import wording
from anb_gateway.deps import ReadinessDep

RELEASE = "release"
"""The app state's key for the release this process runs."""


class Health(msgspec.Struct):
    status: str
    release: str


_LIVE = "El proceso responde (sin consultar la base de datos)"


@get("/api/live", summary=_LIVE, tags=["health"], sync_to_thread=False)
def live(state: State) -> Health:
    return Health(status="ok", release=state[RELEASE])


@get("/api/health", summary="Estado del servicio", tags=["health"])
async def health(readiness: ReadinessDep, state: State) -> Response[object]:
    try:
        await readiness.check()
    except NotReady:  # logged by the check when the state changed
        body = {
            "status": "unavailable",
            "status_code": 503,
            "detail": wording.DATABASE_DOWN,
            "release": state[RELEASE],
        }
        return Response(body, status_code=503)
    return Response(Health(status="ok", release=state[RELEASE]))
