"""The tus requests as ingest serves them behind the gateway (``/internal/tus``): identity, tus
headers in, ``service.Answer``s out. Refusals carry a code with values (``ingest_api.UploadRefusal``);
the gateway words them for players and passes the tus headers on."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

from litestar import Request, Response, delete, head, patch, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Response as LitestarResponse

from anb_common import identity, ingest_api, logs
from anb_common.ingest_api import TUS_CHECKSUM_ALGORITHMS, TUS_CONTENT_TYPE, TUS_PATH, TUS_VERSION
from anb_common.reasons import Reason, TusRule, UploadRule
from anb_ingest.receive import guarded
from anb_ingest.tus import headers
from anb_ingest.tus.service import Answer, Creation, TusService
from anb_ingest.tus.writer import BodyCut, Checksum

log = logging.getLogger(__name__)


def _respond(answer: Answer) -> Response[bytes]:
    body = b""
    media_type = None
    if answer.reason is not None:
        body = ingest_api.encode(ingest_api.UploadRefusal.of(answer.status, answer.reason))
        media_type = "application/json"
    return Response(body, status_code=answer.status, headers=answer.headers, media_type=media_type)


def _refused(status: int, code: str, **values: int | float | str) -> Response[bytes]:
    answer = Answer(status, {"Tus-Resumable": TUS_VERSION}, Reason(code, values))
    if code == TusRule.VERSION:
        answer.headers["Tus-Version"] = TUS_VERSION
    return _respond(answer)


def _check(request: Request[Any, Any, State], state: State) -> uuid.UUID | Response[bytes]:
    """Whose request it is (the gateway's token, bound to this method and path), and the version."""
    runtime = state.runtime
    try:
        user_id = identity.verify(
            request.headers.get(identity.HEADER),
            runtime.internal_secret,
            method=request.method,
            path=request.url.path,
            seen=runtime.seen_nonces,
        )
    except identity.IdentityError as exc:
        log.warning("tus request refused: bad internal identity", extra={"error": str(exc)})
        return _refused(401, UploadRule.IDENTITY)
    if request.headers.get("tus-resumable") != TUS_VERSION:
        return _refused(412, TusRule.VERSION, version=TUS_VERSION)
    return user_id


def _service(state: State) -> TusService:
    service: TusService = state.runtime.tus
    return service


async def _body(request: Request[Any, Any, State], state: State) -> AsyncIterator[bytes]:
    """The request body, paced like the one-request path's (a trickle is cut: 408), a client that
    goes away mid-body reported as ``BodyCut`` so that what arrived is kept."""
    options, limits = state.runtime.settings.ingest, state.runtime.settings.upload
    try:
        async for chunk in guarded(request.stream(), limits, options):
            yield chunk
    except HTTPException as exc:
        raise BodyCut from exc


def _checksum(request: Request[Any, Any, State]) -> Checksum | Response[bytes] | None:
    try:
        parsed = headers.checksum(request.headers.get("upload-checksum"))
    except headers.UnknownAlgorithm as exc:
        return _refused(
            400,
            TusRule.CHECKSUM_ALGORITHM,
            algorithm=exc.algorithm[:40],
            supported=",".join(TUS_CHECKSUM_ALGORITHMS),
        )
    except headers.BadHeader as exc:
        return _refused(400, TusRule.HEADER, header=exc.header)
    return None if parsed is None else Checksum(*parsed)


def _upload_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def _has_body(request: Request[Any, Any, State]) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "chunked" in request.headers.get("transfer-encoding", "").lower()


@post(TUS_PATH, request_max_body_size=None, status_code=201)
async def create(request: Request[Any, Any, State], state: State) -> Response[bytes]:
    checked = _check(request, state)
    if not isinstance(checked, uuid.UUID):
        return checked
    try:
        length = headers.non_negative("Upload-Length", request.headers.get("upload-length"))
        metadata = headers.metadata(request.headers.get("upload-metadata"))
    except headers.BadHeader as exc:
        return _refused(400, TusRule.HEADER, header=exc.header)
    body = None
    checksum: Checksum | None = None
    if _has_body(request):
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != TUS_CONTENT_TYPE:
            return _refused(415, TusRule.CONTENT_TYPE)
        found = _checksum(request)
        if isinstance(found, Response):
            return found
        checksum, body = found, _body(request, state)
    creation = Creation(
        checked,
        length,
        request.headers.get("upload-metadata", ""),
        metadata.get("title"),
        logs.current().get("request_id"),
    )
    return _respond(await _service(state).create(creation, body, checksum))


@head(TUS_PATH + "/{upload_id:str}")
async def status(
    request: Request[Any, Any, State], state: State, upload_id: FromPath[str]
) -> LitestarResponse[None]:
    checked = _check(request, state)
    target = _upload_id(upload_id)
    if not isinstance(checked, uuid.UUID):
        answer = Answer(checked.status_code or 500, dict(checked.headers))
    elif target is None:
        answer = Answer(404, {"Tus-Resumable": TUS_VERSION})
    else:
        answer = await _service(state).head(checked, target)
    # A HEAD answer has no body: its status alone tells the refusal (404, 410, 412).
    return LitestarResponse(None, status_code=answer.status, headers=answer.headers)


# The status of each answer is the service's; the decorators' only describe the usual one.
@patch(TUS_PATH + "/{upload_id:str}", request_max_body_size=None, status_code=200)
async def write(request: Request[Any, Any, State], state: State, upload_id: FromPath[str]) -> Response[bytes]:
    checked = _check(request, state)
    if not isinstance(checked, uuid.UUID):
        return checked
    target = _upload_id(upload_id)
    if target is None:
        return _refused(404, TusRule.NOT_FOUND)
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != TUS_CONTENT_TYPE:
        return _refused(415, TusRule.CONTENT_TYPE)
    try:
        offset = headers.non_negative("Upload-Offset", request.headers.get("upload-offset"))
    except headers.BadHeader as exc:
        return _refused(400, TusRule.HEADER, header=exc.header)
    checksum = _checksum(request)
    if isinstance(checksum, Response):
        return checksum
    answer = await _service(state).patch(
        checked, target, offset, _body(request, state), checksum, logs.current().get("request_id")
    )
    return _respond(answer)


@delete(TUS_PATH + "/{upload_id:str}", status_code=200)
async def terminate(
    request: Request[Any, Any, State], state: State, upload_id: FromPath[str]
) -> Response[bytes]:
    checked = _check(request, state)
    if not isinstance(checked, uuid.UUID):
        return checked
    target = _upload_id(upload_id)
    if target is None:
        return _refused(404, TusRule.NOT_FOUND)
    return _respond(await _service(state).terminate(checked, target))


ROUTES = [create, status, write, terminate]
