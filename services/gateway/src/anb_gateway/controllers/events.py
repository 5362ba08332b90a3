"""``GET /api/videos/events``: the caller's videos' processing as server-sent events (anb_gateway.events)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Annotated

from litestar import Controller, get
from litestar.di import Provide
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import Parameter
from litestar.response import Stream

from anb_gateway.deps import CurrentUser, EventsDep
from anb_gateway.openapi_docs import BEARER, UNAUTHORIZED
from anb_gateway.web.session import bearer_or_cookie_user

_EXAMPLE = (
    'id: 1764590000000001\nevent: video\ndata: {"video_id":"0b8e6a7e-3f0c-4d7c-9a35-5c1f0d7b2a11",'
    '"status":"processing","progress":42,"error":null,"processed_at":null}\n\n: keepalive\n\n'
)


class EventsController(Controller):
    path = "/api/videos/events"
    tags = ("videos",)
    # The contract opens this route to the web session too: the page's EventSource sends its cookie.
    dependencies = MappingProxyType({"user_id": Provide(bearer_or_cookie_user, sync_to_thread=False)})
    security = BEARER

    @get(
        "/",
        summary="Mis videos en vivo: estado y avance como eventos del servidor (text/event-stream)",
        description=(
            "Al conectar, un evento `video` por cada video aún no procesado ni fallido; luego uno por "
            "cada cambio de estado, avance, error o fecha de procesamiento. Cada evento lleva un `id` "
            "creciente: al reconectar con `Last-Event-ID` se reanuda después de él cuando es posible, "
            "si no se envían de nuevo los videos pendientes. Un comentario `: keepalive` al menos "
            "cada 15 s."
        ),
        media_type="text/event-stream",
        responses={
            200: ResponseSpec(
                str,
                description="Flujo de eventos",
                media_type="text/event-stream",
                examples=[Example(summary="Un evento y un comentario", value=_EXAMPLE)],
            ),
            401: UNAUTHORIZED,
        },
    )
    async def stream(
        self,
        user_id: CurrentUser,
        events: EventsDep,
        last_event_id: Annotated[
            str | None, Parameter(header="Last-Event-ID", description="El último `id` recibido.")
        ] = None,
    ) -> Stream:
        return Stream(events.follow(user_id, last_event_id), media_type="text/event-stream")
