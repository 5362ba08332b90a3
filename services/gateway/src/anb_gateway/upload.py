"""The upload path: the client's multipart body streamed to ingest chunk by chunk, never held whole.

The gateway does not parse the form; ingest does (it sniffs the container and probes the video). We
only refuse what is certainly too big before reading it, count what actually arrives, add the caller's
identity as a short-lived internal token, and relay ingest's answer. The route is marked as streamed
(anb_gateway.streamed_upload): its error answers close the connection there, not here.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import httpx
from litestar import Request, Response
from litestar.exceptions import HTTPException

from anb_common import identity, logs
from anb_common.settings import UploadLimits
from anb_gateway.settings import HttpSettings
from anb_gateway.streamed_upload import drain

log = logging.getLogger(__name__)

INGEST_PATH = "/internal/uploads"
SATURATED = "El servicio de carga está saturado; intente de nuevo en unos minutos."


class _TooLarge(Exception):
    """More bytes arrived than the limit allows (a chunked body, or a Content-Length that lied)."""


class _ClientGone(Exception):
    """The client disconnected before sending the whole body."""


def _error(status_code: int, detail: str) -> Response[bytes]:
    body = json.dumps({"status_code": status_code, "detail": detail}, ensure_ascii=False).encode()
    return Response(body, status_code=status_code, media_type="application/json")


class IngestProxy:
    def __init__(self, base_url: str, internal_key: str, limits: UploadLimits, http: HttpSettings) -> None:
        self._url = base_url.rstrip("/") + INGEST_PATH
        # The path ingest sees (a base URL may carry a prefix): the identity token is bound to it.
        self._path = urlsplit(self._url).path
        self._key = internal_key
        self._max_file = limits.max_bytes
        self.max_body = limits.max_bytes + limits.form_overhead_bytes
        self._timeout = httpx.Timeout(
            connect=http.ingest_connect_timeout_s,
            read=http.ingest_response_timeout_s,
            # Writing waits on ingest reading, which waits on S3; the client's own pace bounds it.
            write=None,
            pool=http.ingest_connect_timeout_s,
        )
        # Idle connections are dropped well before ingest's keep-alive (uvicorn's 5 s) closes them, so
        # an upload is never sent on a connection ingest is closing (it failed as ReadError, 502).
        self._limits = httpx.Limits(
            max_connections=http.ingest_max_uploads, max_keepalive_connections=20, keepalive_expiry=2.0
        )
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self._timeout, limits=self._limits)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    def _too_large(self) -> Response[bytes]:
        return _error(
            400,
            f"video_file: el archivo supera el límite de {self._max_file // 1_000_000} MB "
            f"(máximo {self.max_body} bytes de formulario).",
        )

    async def _body(self, request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
        received = 0
        try:
            async for chunk in request.stream():
                received += len(chunk)
                if received > self.max_body:
                    raise _TooLarge
                if chunk:
                    yield chunk
        except HTTPException as exc:
            # Litestar reports a disconnect mid-body as an internal error; it is the client's doing.
            raise _ClientGone from exc

    async def forward(self, request: Request[Any, Any, Any], user_id: uuid.UUID) -> Response[bytes]:
        content_type = request.headers.get("content-type", "")
        if not content_type.lower().startswith("multipart/form-data") or "boundary=" not in content_type:
            return _error(400, "El cuerpo debe ser multipart/form-data con los campos video_file y title.")
        headers = {
            "Content-Type": content_type,
            identity.HEADER: identity.sign(user_id, self._key, method="POST", path=self._path),
            "X-Request-ID": logs.current().get("request_id", ""),
        }
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                return _error(400, "Content-Length no es un número válido.")
            if int(declared) > self.max_body:
                return self._too_large()
            headers["Content-Length"] = declared
        if declared == "0":
            return _error(400, "video_file: falta el archivo (cuerpo vacío).")
        assert self._client is not None, "IngestProxy.start() was not awaited"
        try:
            response = await self._client.post(self._url, content=self._body(request), headers=headers)
        except _TooLarge:
            return self._too_large()
        except _ClientGone:
            return _error(400, "La conexión se cerró antes de recibir el archivo completo.")
        except httpx.PoolTimeout:
            log.warning(
                "%d uploads already in flight to ingest; this one is refused", self._limits.max_connections
            )
            return _error(503, SATURATED)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            log.error("ingest unreachable at %s", self._url)
            return _error(503, "El servicio de carga no está disponible; intente de nuevo en unos minutos.")
        except httpx.TimeoutException:
            log.error("ingest did not answer within %.0f s", self._timeout.read or 0)
            return _error(504, "El servicio de carga no respondió a tiempo; intente de nuevo.")
        except httpx.HTTPError as exc:
            log.error("upload to ingest failed: %r", exc)
            return _error(502, "La carga se interrumpió entre servicios; intente de nuevo.")
        if response.status_code != 202:
            # Ingest may have answered before the whole body arrived; the client is still sending it.
            await drain(request)
        return self._relay(response)

    def _relay(self, response: httpx.Response) -> Response[bytes]:
        try:
            detail = response.json()
        except ValueError:
            detail = None
        if response.status_code in (202, 400) and isinstance(detail, dict):
            return Response(response.content, status_code=response.status_code, media_type="application/json")
        if response.status_code == 413 and isinstance(detail, dict):
            # The contract answers an oversized file with 400, whichever side noticed it.
            return _error(400, str(detail.get("detail") or "video_file: el archivo es demasiado grande."))
        if response.status_code == 503:
            return _error(503, "El servicio de carga no está disponible; intente de nuevo en unos minutos.")
        # 401 from ingest means the internal keys disagree: our misconfiguration, not the client's.
        log.error("ingest answered %s: %s", response.status_code, response.text[:500])
        return _error(502, "El servicio de carga respondió de forma inesperada; intente de nuevo.")
