"""The owner's poster pick, relayed to ingest: the gateway never decodes video (it does not load
PyAV), and ingest already runs decoders in bounded child processes, reads storage and writes the
video's row. Ingest checks the pick against the row (owner, processed, the moment within the footage)
and answers the new poster's key or a refusal code; this module turns either into the gateway's
answer, in wording's Spanish.
"""

from __future__ import annotations

import logging
import uuid
from urllib.parse import urlsplit

import httpx
import msgspec
from litestar import Response

from anb_common import identity, logs, poster_api
from anb_common.poster_api import PosterRule
from anb_common.request_context import HEADER as REQUEST_ID_HEADER
from anb_gateway import wording

log = logging.getLogger(__name__)

# Ingest down or busy: a restart passes within seconds.
_RETRY_S = 10


class PickRefused(Exception):
    """The pick did not happen; ``answer`` is what the player gets (``{"status_code", "detail"}``)."""

    def __init__(self, status_code: int, detail: str, retry_after_s: int | None = None) -> None:
        super().__init__(f"{status_code}: {detail}")
        body = msgspec.json.encode({"status_code": status_code, "detail": detail})
        headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
        self.answer = Response(body, status_code=status_code, media_type="application/json", headers=headers)


class PosterRelay:
    def __init__(self, base_url: str, internal_key: str, timeout_s: float, connect_timeout_s: float) -> None:
        self._base_url = base_url.rstrip("/")
        # The path ingest sees (a base URL may carry a prefix): the identity token is bound to it.
        self._prefix = urlsplit(self._base_url).path
        self._key = internal_key
        self._timeout = httpx.Timeout(timeout_s, connect=connect_timeout_s)
        self._client: httpx.AsyncClient | None = None

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=self._timeout)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def pick(self, video_id: uuid.UUID, user_id: uuid.UUID, time_s: float) -> str:
        """The key of the poster now stored for ``video_id``; ``PickRefused`` otherwise."""
        assert self._client is not None, "PosterRelay.start() was not awaited"
        path = poster_api.path(video_id)
        headers = {
            "Content-Type": "application/json",
            identity.HEADER: identity.sign(user_id, self._key, method="POST", path=self._prefix + path),
            REQUEST_ID_HEADER: logs.current().get("request_id", ""),
        }
        body = poster_api.encode(poster_api.PosterPick(time_s))
        try:
            response = await self._client.post(self._base_url + path, content=body, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout):
            log.error("ingest unreachable for a poster pick at %s", self._base_url)
            raise _unavailable() from None
        except httpx.TimeoutException:
            log.error("ingest did not answer a poster pick within %.0f s", self._timeout.read or 0)
            raise PickRefused(504, wording.POSTERS_TIMED_OUT) from None
        except httpx.HTTPError as exc:
            log.error("poster pick relay to ingest failed: %r", exc)
            raise PickRefused(502, wording.POSTERS_UNEXPECTED) from None
        try:
            if response.status_code == 200:
                return poster_api.stored.decode(response.content).poster_key
            refused = poster_api.refusal.decode(response.content)
        except msgspec.DecodeError:
            refused = None
        if refused is not None and response.status_code == poster_api.STATUS[refused.code]:
            raise _refusal(refused)
        # 401 from ingest means the internal keys disagree: our misconfiguration, not the player's.
        log.error("ingest answered a poster pick %s: %s", response.status_code, response.text[:500])
        raise PickRefused(502, wording.POSTERS_UNEXPECTED)


def _unavailable() -> PickRefused:
    return PickRefused(503, wording.POSTERS_UNAVAILABLE, retry_after_s=_RETRY_S)


def _refusal(refused: poster_api.PosterRefusal) -> PickRefused:
    code = refused.code
    if code is PosterRule.NOT_FOUND:
        return PickRefused(404, wording.VIDEO_NOT_FOUND)
    if code is PosterRule.NOT_OWNER:
        return PickRefused(403, wording.NOT_YOURS)
    if code is PosterRule.NOT_PROCESSED:
        return PickRefused(400, wording.NOT_PROCESSED_YET)
    if code is PosterRule.NO_FOOTAGE_BOUNDS:
        return PickRefused(400, wording.POSTER_NOT_YET)
    if code is PosterRule.OUT_OF_RANGE:
        return PickRefused(400, wording.poster_out_of_range(refused.values.get("footage_s")))
    if code is PosterRule.UNAVAILABLE:
        return _unavailable()
    log.error("ingest refused a poster pick as %s: the internal keys disagree", code)
    return PickRefused(502, wording.POSTERS_UNEXPECTED)
