"""The upload path: the client's multipart body streamed to ingest chunk by chunk, never held whole.

The gateway does not parse the form; ingest does (it sniffs the container and probes the video). We
only refuse what is certainly too big before reading it, count what actually arrives, add the caller's
identity as a short-lived internal token, and answer in the gateway's words: ingest answers a video id
or a refusal as a code with values (``anb_common.reasons``), which ``wording`` turns into Spanish. The
route is marked as streamed (anb_gateway.streamed_upload): its error answers close the connection
there, not here.
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
from anb_common.metrics import Metric, Metrics
from anb_common.reasons import UploadRule
from anb_common.request_context import HEADER as REQUEST_ID_HEADER
from anb_common.settings import UploadLimits
from anb_gateway import wording
from anb_gateway.pace import Pace, TooSlow
from anb_gateway.player_uploads import PlayerUploads
from anb_gateway.schemas.videos import UploadAccepted
from anb_gateway.settings import HttpSettings
from anb_gateway.streamed_upload import drain

log = logging.getLogger(__name__)

# When to try again after an upload could not be taken (ingest or the relay's slots busy, the player's
# own uploads in flight): a restart, a burst or an upload of a few MB passes in well under a minute.
_RETRY_S = 30


_encode = msgspec.json.Encoder().encode


class _TooLarge(Exception):
    """More bytes arrived than the limit allows (a chunked body, or a Content-Length that lied)."""


class _ClientGone(Exception):
    """The client disconnected before sending the whole body."""


def _error(status_code: int, detail: str, retry_after_s: int | None = None) -> Response[bytes]:
    body = _encode({"status_code": status_code, "detail": detail})
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


class IngestProxy:
    def __init__(
        self, base_url: str, internal_key: str, limits: UploadLimits, http: HttpSettings, metrics: Metrics
    ) -> None:
        self._metrics = metrics
        self._url = base_url.rstrip("/") + ingest_api.UPLOADS_PATH
        # The path ingest sees (a base URL may carry a prefix): the identity token is bound to it.
        self._path = urlsplit(self._url).path
        self._key = internal_key
        self._max_file = limits.max_bytes
        self.max_body = limits.max_bytes + limits.form_overhead_bytes
        self._timeout = httpx.Timeout(
            connect=http.ingest_connect_timeout_s,
            read=http.ingest_response_timeout_s,
            # Per write: ingest reading nothing for this long is stuck (its S3 writes included).
            write=http.ingest_write_idle_s,
            pool=http.ingest_connect_timeout_s,
        )
        self._pace = Pace(http.upload_min_rate_bytes_s, http.upload_stall_s)
        self._players = PlayerUploads(http.uploads_per_player)
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
        return self._refused(UploadRule.TOO_LARGE, _error(400, wording.too_large(self._max_file)))

    def _refused(self, rule: UploadRule, answer: Response[bytes]) -> Response[bytes]:
        """A refusal of the gateway's own, counted by the rule it is (ingest counts what it refuses)."""
        self._metrics.record(Metric.UPLOADS_REFUSED, Rule=rule)
        return answer

    async def _body(self, request: Request[Any, Any, Any]) -> AsyncIterator[bytes]:
        """The client's body as ingest gets it. Raising here cuts the relay: httpx drops the connection
        mid-body, and ingest, seeing the body end early, aborts its multipart upload and its spool."""
        received = 0
        try:
            async for chunk in self._pace.paced(request.stream()):
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
            return self._refused(UploadRule.MALFORMED_FORM, _error(400, wording.NOT_MULTIPART))
        headers = {
            "Content-Type": content_type,
            identity.HEADER: identity.sign(user_id, self._key, method="POST", path=self._path),
            REQUEST_ID_HEADER: logs.current().get("request_id", ""),
        }
        declared = request.headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                return self._refused(UploadRule.MALFORMED_FORM, _error(400, wording.BAD_CONTENT_LENGTH))
            if int(declared) > self.max_body:
                return self._too_large()
            headers["Content-Length"] = declared
        if declared == "0":
            return self._refused(UploadRule.EMPTY_FILE, _error(400, wording.EMPTY_BODY))
        if not self._players.take(user_id):
            log.info("player already has %d uploads in flight; this one is refused", self._players.per_player)
            await drain(request)
            return _error(429, wording.too_many_uploads(self._players.per_player), retry_after_s=_RETRY_S)
        try:
            return await self._send(request, headers)
        finally:
            self._players.give(user_id)

    async def _send(self, request: Request[Any, Any, Any], headers: dict[str, str]) -> Response[bytes]:
        assert self._client is not None, "IngestProxy.start() was not awaited"
        try:
            response = await self._client.post(self._url, content=self._body(request), headers=headers)
        except _TooLarge:
            return self._too_large()
        except TooSlow:
            log.info("upload body slower than %d bytes/s; cut", self._pace.min_rate)
            return self._refused(UploadRule.TOO_SLOW, _error(408, wording.too_slow(self._pace.min_rate)))
        except _ClientGone:
            return _error(400, wording.CLIENT_GONE)
        except httpx.PoolTimeout:
            log.warning(
                "%d uploads already in flight to ingest; this one is refused", self._limits.max_connections
            )
            return _error(503, wording.UPLOADS_SATURATED, retry_after_s=_RETRY_S)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            log.error("ingest unreachable at %s", self._url)
            return _error(503, wording.UPLOADS_UNAVAILABLE, retry_after_s=_RETRY_S)
        except httpx.WriteTimeout:
            log.error("ingest took no bytes for %.0f s; upload cut", self._timeout.write or 0)
            await drain(request)  # the client is likely still sending
            return _error(504, wording.UPLOADS_TIMED_OUT)
        except httpx.TimeoutException:
            log.error("ingest did not answer within %.0f s", self._timeout.read or 0)
            return _error(504, wording.UPLOADS_TIMED_OUT)
        except httpx.HTTPError as exc:
            log.error("upload to ingest failed: %r", exc)
            return _error(502, wording.UPLOADS_INTERRUPTED)
        if response.status_code != 202:
            # Ingest may have answered before the whole body arrived; the client is still sending it.
            await drain(request)
        return self._relay(response)

    def _relay(self, response: httpx.Response) -> Response[bytes]:
        """Ingest's answer in the gateway's words: ingest sends codes and ids, never player prose."""
        try:
            if response.status_code == 202:
                # Only the id is taken: the message players read is ours.
                video_id = ingest_api.accepted.decode(response.content).video_id
                answer = UploadAccepted(message=wording.ACCEPTED, task_id=video_id, video_id=video_id)
                return Response(_encode(answer), status_code=202, media_type="application/json")
            if response.status_code in (400, 408):  # a rule broken; a body too slow at ingest
                refusal = ingest_api.refusal.decode(response.content)
                return _error(response.status_code, wording.upload_refusal(refusal.reason))
        except msgspec.DecodeError:
            pass  # not what ingest answers: below, as anything else unexpected
        if response.status_code == 503:
            return _error(503, wording.UPLOADS_UNAVAILABLE, retry_after_s=_RETRY_S)
        # 401 from ingest means the internal keys disagree: our misconfiguration, not the client's.
        log.error("ingest answered %s: %s", response.status_code, response.text[:500])
        return _error(502, wording.UPLOADS_UNEXPECTED)
