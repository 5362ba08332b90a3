"""``/api/uploads/``: resumable uploads (tus 1.0.0), relayed to ingest (anb_gateway.tus_relay).

Authenticated by the Bearer token or the web session cookie (the upload page uses tus-js-client);
``OPTIONS`` is open, so that a client can discover the protocol before it logs in. The bodies of
POST and PATCH stream through unread, as the one-request upload's do: no size limit here (ingest
enforces ``Upload-Length``), and a refusal reads off what the client is still sending first.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, HttpMethod, Request, Response, delete, head, patch, route
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotAuthorizedException
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, SkipValidation

from anb_common.reasons import Reason, TusRule, UploadRule
from anb_gateway import wording
from anb_gateway.deps import CurrentUser, TokensDep, TusDep
from anb_gateway.openapi_docs import BEARER, UNAUTHORIZED, error
from anb_gateway.streamed_upload import STREAMED_ROUTE, StreamedRoute, drain
from anb_gateway.tokens import Tokens
from anb_gateway.tus_relay import tus_headers
from anb_gateway.web.session import bearer_or_cookie_user


async def uploader(
    request: Request[Any, Any, Any], tokens: NamedDependency[SkipValidation[Tokens]]
) -> uuid.UUID:
    """``bearer_or_cookie_user`` for a streamed tus route: a refusal drains the body first and,
    like every tus answer, carries ``Tus-Resumable``."""
    try:
        return bearer_or_cookie_user(request, tokens)
    except NotAuthorizedException as exc:
        await drain(request)
        raise NotAuthorizedException(detail=exc.detail, headers=tus_headers(exc.headers)) from None


# Who asks, on every route but OPTIONS (declared per route: Litestar refuses one provider declared
# on both the controller and a route).
_UPLOADER = {"user_id": Provide(uploader)}
# As the one-request upload's marking, with the session cookie accepted too.
_STREAMED = StreamedRoute(
    opt=STREAMED_ROUTE["opt"],
    request_max_body_size=None,
    after_request=STREAMED_ROUTE["after_request"],
    dependencies=_UPLOADER,
)
_WRITTEN = ResponseSpec(None, description="Bytes guardados; Upload-Offset dice hasta dónde")
_TERMINATED = ResponseSpec(None, description="La carga y todo lo guardado se eliminaron")
# Every status the contract gives each request, so that the schema tells a client all it may get.
_RESPONSES = {
    401: UNAUTHORIZED,
    404: error(404, "No existe la carga", wording.tus_refusal(Reason(TusRule.NOT_FOUND))),
    412: error(412, "Falta Tus-Resumable: 1.0.0", wording.tus_refusal(Reason(TusRule.VERSION))),
    503: error(503, "El servicio de cargas no responde", wording.UPLOADS_UNAVAILABLE),
}
_BYTES = {
    400: error(400, "El video no cumple las reglas", wording.upload_refusal(Reason(UploadRule.RESOLUTION))),
    408: error(408, "Los bytes llegan demasiado lento", wording.tus_too_slow(16 * 1024)),
    413: error(413, "Supera el tamaño máximo", wording.too_large(100_000_000)),
    415: error(415, "Content-Type no es de tus", wording.tus_refusal(Reason(TusRule.CONTENT_TYPE))),
    460: error(460, "Suma de verificación distinta", wording.tus_refusal(Reason(TusRule.CHECKSUM_MISMATCH))),
}
"""What a request carrying bytes may also get (PATCH, and POST with creation-with-upload)."""
_GONE = error(410, "La carga expiró", wording.tus_refusal(Reason(TusRule.EXPIRED)))
_LOCKED = error(423, "Otra solicitud escribe la carga", wording.tus_refusal(Reason(TusRule.LOCKED)))


class UploadsController(Controller):
    path = "/api/uploads"
    tags = ("uploads",)
    security = BEARER

    # OPTIONS shares the handler: Litestar adds its own OPTIONS handler to a path that has none, and
    # where a controller declares one beside it, which answers depends on registration order.
    @route(
        "/",
        http_method=[HttpMethod.POST, HttpMethod.OPTIONS],
        status_code=201,
        summary="Crear una carga reanudable (tus: creation, creation-with-upload); OPTIONS: su configuración",
        responses={
            **_RESPONSES,
            **_BYTES,
            204: ResponseSpec(None, description="OPTIONS: Tus-Version, Tus-Extension, Tus-Max-Size"),
            429: error(
                429, "Demasiadas cargas en curso", wording.tus_refusal(Reason(TusRule.TOO_MANY, {"max": 3}))
            ),
        },
        opt=_STREAMED["opt"],
        request_max_body_size=None,
        after_request=_STREAMED["after_request"],
    )
    async def create(
        self, request: Request[Any, Any, Any], tokens: TokensDep, tus: TusDep
    ) -> Response[bytes]:
        if request.method == HttpMethod.OPTIONS:
            # Open: a client discovers the protocol before it logs in.
            return tus.options()
        return await tus.forward(request, await uploader(request, tokens), None)

    @head(
        "/{upload_id:str}",
        summary="Cuánto de la carga está guardado (Upload-Offset)",
        responses={**_RESPONSES, 410: _GONE},
        dependencies=_UPLOADER,
    )
    async def status(
        self, request: Request[Any, Any, Any], upload_id: FromPath[str], user_id: CurrentUser, tus: TusDep
    ) -> Response[None]:
        # A HEAD answer has no body (Litestar checks the handler's type): the relay's headers only.
        answer = await tus.forward(request, user_id, upload_id)
        return Response(None, status_code=answer.status_code, headers=answer.headers)

    @patch(
        "/{upload_id:str}",
        # Each answer's status is ingest's (204 when written); the decorator's is Litestar's default,
        # which may not be 204 for a handler that can also answer a refusal with a body.
        status_code=200,
        summary="Enviar bytes de la carga desde Upload-Offset",
        responses={
            **_RESPONSES,
            **_BYTES,
            204: _WRITTEN,
            409: error(
                409, "Upload-Offset no coincide", wording.tus_refusal(Reason(TusRule.OFFSET_MISMATCH))
            ),
            410: _GONE,
            423: _LOCKED,
        },
        **_STREAMED,
    )
    async def write(
        self, request: Request[Any, Any, Any], upload_id: FromPath[str], user_id: CurrentUser, tus: TusDep
    ) -> Response[bytes]:
        return await tus.forward(request, user_id, upload_id)

    @delete(
        "/{upload_id:str}",
        status_code=200,
        summary="Cancelar la carga (tus: termination)",
        responses={**_RESPONSES, 204: _TERMINATED, 423: _LOCKED},
        dependencies=_UPLOADER,
    )
    async def terminate(
        self, request: Request[Any, Any, Any], upload_id: FromPath[str], user_id: CurrentUser, tus: TusDep
    ) -> Response[bytes]:
        return await tus.forward(request, user_id, upload_id)
