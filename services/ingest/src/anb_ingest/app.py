"""Ingest application factory (``uvicorn --factory anb_ingest.app:create_app``).

The HTTP layer only: identity, status codes, the upload figures. Reading the body lives in
``receive``, validation and recording in ``pipeline``; the clients, the outbox relay and the readiness
check are built in ``runtime`` for the app's lifetime. Every request runs with its request id bound
(``anb_common.request_context``): the gateway's, so one upload's lines read as one across both.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any, cast

from litestar import Litestar, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ASGIApp

from anb_common import identity, ingest_api, logs, poster_api
from anb_common.metrics import Metric, Metrics
from anb_common.readiness import NotReady
from anb_common.reasons import Reason, UploadRule
from anb_common.request_context import App, RequestContext
from anb_ingest.errors import DependencyUnavailable, UploadRejected
from anb_ingest.posters import PosterRefused
from anb_ingest.runtime import Runtime
from anb_ingest.settings import IngestSettings
from anb_ingest.tus.routes import ROUTES as TUS_ROUTES

log = logging.getLogger(__name__)

ACCEPTED_MESSAGE = "Video subido correctamente. Procesamiento en curso."

# Refusals that are not 400; every other rule broken is.
_STATUS: dict[str, int] = {UploadRule.TOO_SLOW: 408}


@get("/internal/live", sync_to_thread=False)
def live(state: State) -> dict[str, str]:
    """The process answers; nothing else is asked."""
    return {"status": "ok", "release": state.runtime.settings.release}


@get("/internal/health")
async def health(state: State) -> Response[dict[str, str]]:
    """Readiness: the database and storage answer."""
    runtime: Runtime = state.runtime
    release = runtime.settings.release
    try:
        await runtime.readiness.check()
    except NotReady as exc:
        body = {"status": "unavailable", "down": exc.dependency, "release": release}
        return Response(body, status_code=503)
    return Response({"status": "ok", "release": release})


def _answer(body: ingest_api.UploadAccepted | ingest_api.UploadRefusal, status: int) -> Response[bytes]:
    return Response(ingest_api.encode(body), status_code=status, media_type="application/json")


# The body limit is ours to enforce while streaming (see receive): Litestar's would answer 413
# with its own wording, and only on a declared length.
@post("/internal/uploads", request_max_body_size=None)
async def upload(request: Request[object, object, State], state: State) -> Response[bytes]:
    runtime: Runtime = state.runtime
    started = time.perf_counter()
    answer = await _upload(request, runtime)
    runtime.metrics.record(Metric.UPLOAD_LATENCY, (time.perf_counter() - started) * 1000)
    return answer


async def _upload(request: Request[object, object, State], runtime: Runtime) -> Response[bytes]:
    metrics = runtime.metrics
    try:
        user_id = identity.verify(
            request.headers.get(identity.HEADER),
            runtime.internal_secret,
            method=request.method,
            path=request.url.path,
            seen=runtime.seen_nonces,
        )
    except identity.IdentityError as exc:
        log.warning("upload refused: bad internal identity", extra={"error": str(exc)})
        return _refusal(metrics, 401, Reason(UploadRule.IDENTITY))
    declared = request.headers.get("content-length")
    if declared is not None and not declared.isdigit():
        log.info("upload rejected: Content-Length is not a number", extra={"rule": UploadRule.MALFORMED_FORM})
        return _refusal(metrics, 400, Reason(UploadRule.MALFORMED_FORM))
    try:
        video = await runtime.pipeline.accept(
            request.stream(),
            content_type=request.headers.get("content-type"),
            content_length=int(declared) if declared is not None else None,
            user_id=user_id,
            request_id=logs.current().get("request_id"),
        )
    except UploadRejected as exc:
        log.info(
            "upload rejected",
            extra={"rule": exc.rule, "values": exc.reason.values, "detail": exc.detail},
        )
        return _refusal(metrics, _STATUS.get(exc.rule, 400), exc.reason)
    except DependencyUnavailable:
        # Nothing was kept; the client may simply try again once storage answers.
        return _refusal(metrics, 503, Reason(UploadRule.UNAVAILABLE))
    metrics.record(Metric.UPLOADS_ACCEPTED)
    metrics.record(Metric.UPLOAD_BYTES, video.size_bytes)
    log.info("upload accepted", extra={"video_id": str(video.video_id), "user_id": str(user_id)})
    return _answer(ingest_api.UploadAccepted(ACCEPTED_MESSAGE, video.video_id, video.video_id), 202)


def _refusal(metrics: Metrics, status: int, reason: Reason) -> Response[bytes]:
    """Every answer but 202: a machine code with its values, never prose (the gateway alone words
    what players read)."""
    metrics.record(Metric.UPLOADS_REFUSED, Rule=reason.code)
    return _answer(ingest_api.UploadRefusal.of(status, reason), status)


@post("/internal/videos/{video_id:uuid}/poster", status_code=200)
async def pick_poster(
    request: Request[object, object, State], state: State, video_id: FromPath[uuid.UUID]
) -> Response[bytes]:
    """The owner's poster pick, relayed by the gateway (``anb_common.poster_api``, ``posters``)."""
    runtime: Runtime = state.runtime
    try:
        user_id = identity.verify(
            request.headers.get(identity.HEADER),
            runtime.internal_secret,
            method=request.method,
            path=request.url.path,
            seen=runtime.seen_nonces,
        )
        pick = poster_api.pick.decode(await request.body())
        key = await runtime.posters.pick(video_id, user_id, pick.time_s)
    except identity.IdentityError as exc:
        log.warning("poster pick refused: bad internal identity", extra={"error": str(exc)})
        return _poster_refusal(PosterRefused(poster_api.PosterRule.IDENTITY))
    except PosterRefused as refused:
        log.info("poster pick refused", extra={"rule": refused.rule, "values": refused.values})
        return _poster_refusal(refused)
    log.info("poster picked", extra={"video_id": str(video_id), "poster_key": key})
    return Response(poster_api.encode(poster_api.PosterStored(key)), media_type="application/json")


def _poster_refusal(refused: PosterRefused) -> Response[bytes]:
    body = poster_api.encode(poster_api.PosterRefusal(refused.rule, refused.values))
    return Response(body, status_code=poster_api.STATUS[refused.rule], media_type="application/json")


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, object]]:
    """An answer 500, logged with the request id (bound around the whole request): with the trace for
    a bug of ours; in one line for Litestar's own (a client that went away mid-body)."""
    if isinstance(exc, HTTPException):
        log.warning("%s %s answered 500: %s", request.method, request.url.path, exc.detail)
    else:
        log.exception("unhandled error in %s %s", request.method, request.url.path)
    body: dict[str, object] = {"status_code": 500, "detail": "Internal Server Error"}
    return Response(body, status_code=500)


def _request_context(app: ASGIApp) -> ASGIApp:
    # Litestar's ASGI types are narrower spellings of the same callables.
    return cast("ASGIApp", RequestContext(cast("App", app)))


def create_app(settings: IngestSettings | None = None) -> Litestar:
    settings = settings or IngestSettings()
    logs.configure("ingest")
    runtime = Runtime(settings)
    return Litestar(
        route_handlers=[live, health, upload, pick_poster, *TUS_ROUTES],
        lifespan=[runtime.lifespan],
        middleware=[_request_context],
        # Any exception that is not an HTTP answer, and the HTTP answers 500.
        exception_handlers={HTTP_500_INTERNAL_SERVER_ERROR: _unexpected},
        # Our JSON logging (anb_common.logs) is already configured; Litestar must not replace it.
        logging_config=None,
        state=State({"runtime": runtime}),
    )
