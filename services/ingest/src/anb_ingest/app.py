"""Ingest application factory (``uvicorn --factory anb_ingest.app:create_app``).

The HTTP layer only: identity, request id, status codes. Reading the body lives in ``receive``,
validation and recording in ``pipeline``; the clients and the outbox relay are built in ``runtime``
for the app's lifetime.
"""

from __future__ import annotations

import logging
import uuid

from litestar import Litestar, Request, get, post
from litestar.datastructures import State
from litestar.response import Response

from anb_common import identity, logs
from anb_common.reasons import Reason, UploadRule
from anb_ingest.errors import DependencyUnavailable, UploadRejected
from anb_ingest.runtime import Runtime
from anb_ingest.settings import IngestSettings

log = logging.getLogger(__name__)

ACCEPTED_MESSAGE = "Video subido correctamente. Procesamiento en curso."

# Refusals that are not 400; every other rule broken is.
_STATUS: dict[str, int] = {UploadRule.TOO_SLOW: 408}


@get("/internal/health", sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


def _refusal(status: int, reason: Reason) -> Response[dict[str, object]]:
    """Every answer but 202: a machine code with its values, never prose (the gateway alone words
    what players read)."""
    body = {"status_code": status, "code": reason.code, "values": reason.values}
    return Response(body, status_code=status)


# The body limit is ours to enforce while streaming (see receive): Litestar's would answer 413
# with its own wording, and only on a declared length.
@post("/internal/uploads", request_max_body_size=None)
async def upload(request: Request[object, object, State], state: State) -> Response[dict[str, object]]:
    runtime: Runtime = state.runtime
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    with logs.bound(request_id=request_id):
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
            return _refusal(401, Reason(UploadRule.IDENTITY))
        declared = request.headers.get("content-length")
        if declared is not None and not declared.isdigit():
            log.info(
                "upload rejected: Content-Length is not a number", extra={"rule": UploadRule.MALFORMED_FORM}
            )
            return _refusal(400, Reason(UploadRule.MALFORMED_FORM))
        try:
            video_id = await runtime.pipeline.accept(
                request.stream(),
                content_type=request.headers.get("content-type"),
                content_length=int(declared) if declared is not None else None,
                user_id=user_id,
            )
        except UploadRejected as exc:
            log.info(
                "upload rejected",
                extra={"rule": exc.rule, "values": exc.reason.values, "detail": exc.detail},
            )
            return _refusal(_STATUS.get(exc.rule, 400), exc.reason)
        except DependencyUnavailable:
            # Nothing was kept; the client may simply try again once storage answers.
            return _refusal(503, Reason(UploadRule.UNAVAILABLE))
        log.info("upload accepted", extra={"video_id": str(video_id), "user_id": str(user_id)})
        return Response(
            {"message": ACCEPTED_MESSAGE, "task_id": str(video_id), "video_id": str(video_id)},
            status_code=202,
        )


def create_app(settings: IngestSettings | None = None) -> Litestar:
    settings = settings or IngestSettings()
    logs.configure("ingest")
    runtime = Runtime(settings)
    return Litestar(
        route_handlers=[health, upload],
        lifespan=[runtime.lifespan],
        # Our JSON logging (anb_common.logs) is already configured; Litestar must not replace it.
        logging_config=None,
        state=State({"runtime": runtime}),
    )
