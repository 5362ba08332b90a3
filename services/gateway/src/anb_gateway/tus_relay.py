"""The relay of resumable uploads (tus 1.0.0, ``/api/uploads/``) to ingest, which owns the protocol
and the storage: the gateway authenticates the player, streams each request's body through as it
arrives (as it does for the one-request upload), binds the player's identity to each internal
request's method and path, and answers with ingest's status and tus headers, refusals worded in
Spanish and the upload's public ``Location``.

``Location`` is absolute and built from the request's own scheme and host: the scheme is the one
uvicorn settled from ``X-Forwarded-Proto`` when, and only when, the peer is a trusted proxy
(``--forwarded-allow-ips``), so behind the ALB it is https and a client cannot talk it into another.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException

from anb_common import identity, ingest_api, logs
from anb_common.ingest_api import (
    TUS_CHECKSUM_ALGORITHMS,
    TUS_EXTENSIONS,
    TUS_RESPONSE_HEADERS,
    TUS_VERSION,
)
from anb_common.metrics import Metric, Metrics
from anb_common.reasons import Reason, TusRule, UploadRule
from anb_common.request_context import HEADER as REQUEST_ID_HEADER
from anb_common.settings import UploadLimits
from anb_gateway import wording
from anb_gateway.pace import Pace, TooSlow
from anb_gateway.settings import HttpSettings
from anb_gateway.streamed_upload import drain

log = logging.getLogger(__name__)

PUBLIC_PATH = "/api/uploads/"
"""Where players create uploads; each upload is ``PUBLIC_PATH + <id>``."""

# What a tus client sends that ingest reads; everything else stays at the gateway.
_FORWARDED = (
    "Tus-Resumable",
    "Upload-Length",
    "Upload-Metadata",
    "Upload-Offset",
    "Upload-Checksum",
    "Content-Type",
    "Content-Length",
)
TUS_EXPOSED_HEADERS = (
    "Location",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Expires",
    "Upload-Metadata",
    "Tus-Resumable",
    "Tus-Version",
    "Tus-Extension",
    "Tus-Max-Size",
    "Tus-Checksum-Algorithm",
    ingest_api.VIDEO_STATUS_HEADER,
)
"""Response headers a browser's script may read (CORS), for tus-js-client on another origin."""
_RETRY_S = 5
_encode = msgspec.json.Encoder().encode


class _ClientGone(Exception):
    """The client disconnected before sending the whole body."""


def tus_headers(headers: dict[str, str] | None = None) -> dict[str, str]:
    """``headers`` with ``Tus-Resumable``, which every answer but OPTIONS carries."""
    return {"Tus-Resumable": TUS_VERSION, **(headers or {})}


def refusal(status: int, detail: str, headers: dict[str, str] | None = None) -> Response[bytes]:
    body = _encode({"status_code": status, "detail": detail})
    return Response(body, status_code=status, media_type="application/json", headers=tus_headers(headers))


class TusRelay:
    def __init__(
        self, base_url: str, internal_key: str, limits: UploadLimits, http: HttpSettings, metrics: Metrics
    ) -> None:
        self._base = base_url.rstrip("/")
        # The path ingest sees (a base URL may carry a prefix): each identity token is bound to it.
        self._prefix = urlsplit(self._base).path
        self._key = internal_key
        self.max_bytes = limits.max_bytes
        self._metrics = metrics
        self._pace = Pace(http.upload_min_rate_bytes_s, http.upload_stall_s)
        self._timeout = httpx.Timeout(
            connect=http.ingest_connect_timeout_s,
            read=http.ingest_response_timeout_s,
            write=http.ingest_write_idle_s,
            pool=http.ingest_connect_timeout_s,
        )
        # As the one-request relay's: idle connections go before ingest's keep-alive closes them.
        self._limits = httpx.Limits(
            max_connections=http.ingest_max_uploads, max_keepalive_connections=20, keepalive_expiry=2.0
        )
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self._timeout, limits=self._limits)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def options(self) -> Response[bytes]:
        """The server's tus configuration (no ``Tus-Resumable``: the spec leaves OPTIONS without it)."""
        headers = {
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": ",".join(TUS_EXTENSIONS),
            "Tus-Max-Size": str(self.max_bytes),
            "Tus-Checksum-Algorithm": ",".join(TUS_CHECKSUM_ALGORITHMS),
        }
        return Response(b"", status_code=204, headers=headers)

    async def forward(
        self, request: Request[Any, Any, Any], user_id: uuid.UUID, upload_id: str | None
    ) -> Response[bytes]:
        """Relay one tus request (``upload_id`` None: the creation) and answer as ingest did."""
        if upload_id is not None and not _is_uuid(upload_id):
            return refusal(404, wording.tus_refusal(Reason(TusRule.NOT_FOUND)))
        method = request.method.upper()
        path = f"{self._prefix}{ingest_api.TUS_PATH}" + (f"/{upload_id}" if upload_id else "")
        headers = {name: value for name in _FORWARDED if (value := request.headers.get(name)) is not None}
        headers[identity.HEADER] = identity.sign(user_id, self._key, method=method, path=path)
        headers[REQUEST_ID_HEADER] = logs.current().get("request_id", "")
        streamed = method in ("POST", "PATCH") and _has_body(request)
        try:
            response = await self._send(method, path, headers, self._body(request) if streamed else None)
        except TooSlow:
            log.info("tus body slower than %d bytes/s; cut", self._pace.min_rate)
            self._metrics.record(Metric.UPLOADS_REFUSED, Rule=UploadRule.TOO_SLOW)
            return refusal(408, wording.tus_too_slow(self._pace.min_rate))
        except _ClientGone:
            return refusal(400, wording.CLIENT_GONE)
        except httpx.PoolTimeout:
            return refusal(503, wording.UPLOADS_SATURATED, {"Retry-After": str(_RETRY_S)})
        except (httpx.ConnectError, httpx.ConnectTimeout):
            log.error("ingest unreachable at %s", self._base)
            return refusal(503, wording.UPLOADS_UNAVAILABLE, {"Retry-After": str(_RETRY_S)})
        except httpx.TimeoutException:
            log.error("ingest did not answer a tus %s in time", method)
            if streamed:
                await drain(request)
            return refusal(504, wording.UPLOADS_TIMED_OUT)
        except httpx.HTTPError as exc:
            log.error("tus %s to ingest failed: %r", method, exc)
            return refusal(502, wording.UPLOADS_INTERRUPTED)
        if streamed and response.status_code >= 300:
            # Ingest may have answered before the whole body arrived (a rule broken by the first
            # bytes, a lease held): the client is still sending it.
            await drain(request)
        return self._answer(request, method, response)

    async def _send(
        self, method: str, path: str, headers: dict[str, str], body: AsyncIterator[bytes] | None
    ) -> httpx.Response:
        assert self._client is not None, "TusRelay.start() was not awaited"
        url = self._base[: len(self._base) - len(self._prefix)] + path
        return await self._client.request(method, url, headers=headers, content=body)

    async def _body(self, request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
        """The client's body as ingest gets it; raising here cuts the relay, and ingest keeps what
        arrived before the cut (tus: store as much as was received)."""
        try:
            async for chunk in self._pace.paced(request.stream()):
                if chunk:
                    yield chunk
        except HTTPException as exc:
            # Litestar reports a disconnect mid-body as an internal error; it is the client's doing.
            raise _ClientGone from exc

    def _answer(
        self, request: Request[Any, Any, Any], method: str, response: httpx.Response
    ) -> Response[bytes]:
        status = response.status_code
        headers = {
            name: value for name in TUS_RESPONSE_HEADERS if (value := response.headers.get(name)) is not None
        }
        if (retry := response.headers.get("Retry-After")) is not None:
            headers["Retry-After"] = retry
        location = response.headers.get("Location")
        if location is not None:
            headers["Location"] = (
                f"{str(request.base_url).rstrip('/')}{PUBLIC_PATH}{location.rsplit('/', 1)[-1]}"
            )
        if status == 401 or (status >= 500 and status != 503):
            # 401 from ingest means the internal keys disagree: our misconfiguration, not the client's.
            log.error("ingest answered a tus %s with %s: %s", method, status, response.text[:300])
            return refusal(502, wording.UPLOADS_UNEXPECTED)
        if status < 300:
            return Response(b"", status_code=status, headers=tus_headers(headers))
        if status == 412:
            headers["Tus-Version"] = TUS_VERSION
        if method == "HEAD":
            return Response(b"", status_code=status, headers=tus_headers(headers))
        try:
            reason = ingest_api.refusal.decode(response.content).reason
        except msgspec.DecodeError:
            log.error(
                "ingest answered a tus %s with %s and no refusal: %s", method, status, response.text[:300]
            )
            return refusal(502, wording.UPLOADS_UNEXPECTED)
        return refusal(status, wording.tus_refusal(reason), headers)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _has_body(request: Request[Any, Any, Any]) -> bool:
    length = request.headers.get("content-length")
    if length is not None:
        return length.strip() not in ("", "0")
    return "chunked" in request.headers.get("transfer-encoding", "").lower()
