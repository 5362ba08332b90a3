"""The web app's router (everything it serves, under ``/``) and its templates, as app.py registers them.

Its guard (CSRF), headers (CSP) and error pages are the router's own, so ``/api`` routes pay nothing
for the web app.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Request, Response, Router
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotFoundException, ValidationException
from litestar.template import TemplateConfig
from litestar.types import ExceptionHandlersMap

from anb_common import signing_keys
from anb_gateway import errors
from anb_gateway.settings import GatewaySettings
from anb_gateway.tokens import Tokens
from anb_gateway.web import accounts, i18n, players, static, visitors
from anb_gateway.web.csrf import Csrf, CsrfRefused
from anb_gateway.web.parts import LoginRequired, Web, go, here, is_htmx, login_url, page

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).parent / "templates"


def content_security_policy(settings: GatewaySettings) -> str:
    """No inline script or style anywhere; media, pictures and HLS segments from storage's links."""
    aws = settings.aws
    endpoint = aws.public_endpoint_url or aws.endpoint_url
    if endpoint:
        parts = urlsplit(endpoint)
        storage = f"{parts.scheme}://{parts.netloc}"
    else:  # AWS itself: presigned links are path-style on the regional (or the global) endpoint
        storage = f"https://s3.{aws.region}.amazonaws.com https://s3.amazonaws.com"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src 'self' {storage}",
            # blob: is how hls.js hands the player its MediaSource.
            f"media-src 'self' {storage} blob:",
            f"connect-src 'self' {storage}",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        # Templates change only with a release: no stat() of the file on every render.
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["static"] = static.url
    environment.globals["query"] = _query
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


def _query(**values: Any) -> str:
    """A query string of the values that are set (the paging links keep the city filter)."""
    return urlencode({name: value for name, value in values.items() if value is not None})


def _web_error(request: Request[Any, Any, Any], exc: Exception, web: Web) -> Response[Any]:
    """Refusals as pages in the reader's language (htmx and the status feed get the API's JSON shape)."""
    if isinstance(exc, LoginRequired):
        return go(request, web, login_url(here(request) if request.method == "GET" else "/my-videos"))
    if isinstance(exc, ValidationException):
        status_code, detail = 400, errors.validation_detail(exc)
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        status_code, detail = exc.status_code, ""
        if isinstance(exc, CsrfRefused):
            detail = i18n.for_connection(request)("error.csrf")
        elif exc.detail and exc.detail != HTTPStatus(exc.status_code).phrase:
            detail = exc.detail
    else:
        answer = errors.on_unexpected(request, exc)  # logs it, and tells an outage (503) from a bug
        status_code, detail = answer.status_code or 500, ""
    if is_htmx(request) or request.url.path == "/my-videos/status":
        return Response({"status_code": status_code, "detail": detail}, status_code=status_code)
    return page(request, web, "error.html", status_code=status_code, code=status_code, detail=detail)


class WebApp:
    """The web app as app.py registers it: ``router`` (its pages), ``exception_handlers`` (the app-wide
    ones it adds: a page for an address that matches no route outside /api)."""

    def __init__(self, settings: GatewaySettings, tokens: Tokens) -> None:
        self._web = Web(
            tokens=tokens,
            csrf=Csrf(signing_keys.jwt_key(settings.security)),
            limits=settings.upload,
            csp=content_security_policy(settings),
        )
        self.router = self._router()
        self.exception_handlers: ExceptionHandlersMap = {NotFoundException: self._not_found}

    def _on_error(self, request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        return _web_error(request, exc, self._web)

    def _not_found(self, request: Request[Any, Any, Any], exc: NotFoundException) -> Response[Any]:
        # No route matched (the router's own handlers never see it): /api answers as it always has.
        if request.url.path.startswith("/api"):
            return errors.on_http(request, exc)
        return _web_error(request, exc, self._web)

    def _router(self) -> Router:
        web = self._web
        return Router(
            path="/",
            route_handlers=[
                static.static_file,
                visitors.gallery,
                visitors.rankings,
                visitors.video_page,
                visitors.poster_link,
                visitors.video_link,
                visitors.vote,
                accounts.signup_page,
                accounts.signup,
                accounts.login_page,
                accounts.login,
                accounts.logout,
                players.my_videos,
                players.status,
                players.row,
                players.publish,
                players.confirm_delete,
                players.delete,
                players.poster,
                players.upload_page,
                players.upload,
            ],
            dependencies={"web": Provide(lambda: web, sync_to_thread=False)},
            guards=[web.csrf.guard],
            # Each class the app maps too: the most specific class wins, whichever layer maps it.
            exception_handlers={
                ValidationException: self._on_error,
                HTTPException: self._on_error,
                Exception: self._on_error,
            },
            include_in_schema=False,
        )
