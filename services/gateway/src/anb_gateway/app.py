"""Gateway application factory (``uvicorn --factory --loop uvloop anb_gateway.app:create_app``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from anb_common import logs
from anb_common.metrics import Metrics
from anb_gateway import deps, errors
from anb_gateway.controllers.auth import AUTH_LIMITER, AuthController
from anb_gateway.controllers.docs import openapi_json
from anb_gateway.controllers.events import EventsController
from anb_gateway.controllers.health import RELEASE, health, live
from anb_gateway.controllers.media import MediaController
from anb_gateway.controllers.public import PublicController
from anb_gateway.controllers.uploads import UploadsController
from anb_gateway.controllers.videos import VideosController
from anb_gateway.middleware import EdgeMiddleware
from anb_gateway.runtime import Runtime
from anb_gateway.settings import GatewaySettings
from anb_gateway.tus_relay import TUS_EXPOSED_HEADERS
from anb_gateway.web import routes as web

_DESCRIPTION = """API pública de ANB Video: cuentas de jugadores, carga de videos (procesados de forma
asíncrona), votación pública y clasificación. Los endpoints con candado piden
`Authorization: Bearer <access_token>` (obtenido en `POST /api/auth/login`). Todo error responde
`{"status_code", "detail"}`."""


def _openapi() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="ANB Video API",
        version="1.0.0",
        description=_DESCRIPTION,
        # Swagger UI at /api/docs (its own copy of the schema at /api/docs/openapi.json); the contract's
        # /api/openapi.json is served by controllers.docs. Everything under /api, the ALB's one rule.
        path="/api/docs",
        render_plugins=[SwaggerRenderPlugin(path="/")],
        components=Components(
            security_schemes={"BearerAuth": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT")}
        ),
        use_handler_docstrings=False,
    )


def build(settings: GatewaySettings, metrics: Metrics | None = None) -> Litestar:
    runtime = Runtime(settings, metrics or Metrics())

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.close()

    cors = (
        # A tus client in the browser reads the upload's URL and offsets from these headers.
        CORSConfig(allow_origins=settings.http.cors_origins, expose_headers=list(TUS_EXPOSED_HEADERS))
        if settings.http.cors_origins
        else None
    )
    site = web.WebApp(settings, runtime.tokens)
    app = Litestar(
        route_handlers=[
            live,
            health,
            openapi_json,
            AuthController,
            VideosController,
            MediaController,
            EventsController,
            PublicController,
            UploadsController,
            # The web app: everything outside /api, with its own guard (CSRF), headers and error pages.
            site.router,
        ],
        dependencies=deps.providers(runtime),
        exception_handlers={**errors.HANDLERS, **site.exception_handlers},
        lifespan=[lifespan],
        # Guards cannot receive dependencies: the login/signup throttle finds its limiter here.
        state=State({AUTH_LIMITER: runtime.auth_limiter, RELEASE: settings.release}),
        openapi_config=_openapi(),
        cors_config=cors,
        template_config=web.template_config(),
        # Logging is anb_common.logs' (JSON on stdout); Litestar's default config would replace its handler.
        logging_config=None,
    )
    deps.resolve_in_turn(app)
    return app


def create_app() -> EdgeMiddleware:
    logs.configure("gateway")
    metrics = Metrics()
    return EdgeMiddleware(build(GatewaySettings(), metrics), metrics)
