"""HTTP client for the ANB Video public API (docs/api.md); no UI, no printing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, Self
from urllib.parse import quote

import httpx

from anb_cli import sse
from anb_cli.multipart import FilePart, MultipartBody
from anb_cli.tus import Tus

DEFAULT_API_URL = "http://127.0.0.1:8000/api"

Json = dict[str, Any]

FINAL_STATUSES = frozenset({"processed", "failed"})

# Connecting to a local or nearby gateway is quick; a connect that takes longer means it is down.
_CONNECT_TIMEOUT = 10.0
# The gateway answers an upload only after it has checked and stored the whole file, which for a
# 100 MB clip takes a while after the last byte is sent.
_READ_TIMEOUT = 120.0
_DOWNLOAD_CHUNK = 64 * 1024
# The gateway writes a keepalive at least every 15 s: three missed means the connection is dead.
_EVENTS_READ_TIMEOUT = 45.0
# Between two connections to the events: long enough not to hammer a gateway that is restarting.
_RECONNECT_AFTER_S = 1.0
# A gateway unreachable for this long is down, not restarting: say so rather than retry until the timeout.
_GIVE_UP_AFTER_S = 30.0


class Transfer(Protocol):
    """Receives progress of an upload or download."""

    def start(self, total: int | None) -> None: ...

    def advance(self, size: int) -> None: ...


class ApiError(Exception):
    """The API answered with an error status; ``detail`` is its human-readable reason."""

    def __init__(self, status_code: int, detail: str, body: Any = None) -> None:
        super().__init__(f"{status_code}: {detail}")
        self.status_code = status_code
        self.detail = detail
        self.body = body

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            body = response.json()
        except ValueError:
            body = None
        detail = body.get("detail") if isinstance(body, dict) else None
        if not isinstance(detail, str) or not detail:
            text = response.text.strip()[:300]
            detail = text or response.reason_phrase or "error without detail"
        return cls(response.status_code, detail, body)


class EventsUnsupported(Exception):
    """The API has no live events (``GET /api/videos/events`` answered 404): a gateway older than them."""


class ApiUnreachable(Exception):
    """The API could not be reached at all (refused, DNS, timeout, broken connection)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot reach {url}: {reason}")
        self.url = url
        self.reason = reason


class Client:
    def __init__(self, base_url: str = DEFAULT_API_URL, token: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=self.base_url + "/",
            headers=headers,
            timeout=httpx.Timeout(_READ_TIMEOUT, connect=_CONNECT_TIMEOUT),
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # --- auth ------------------------------------------------------------------------------------

    def signup(
        self,
        *,
        first_name: str,
        last_name: str,
        email: str,
        password1: str,
        password2: str,
        city: str,
        country: str,
    ) -> Json:
        body = {
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "password1": password1,
            "password2": password2,
            "city": city,
            "country": country,
        }
        return self._json("POST", "auth/signup", json=body)

    def login(self, email: str, password: str) -> Json:
        return self._json("POST", "auth/login", json={"email": email, "password": password})

    # --- the caller's videos ---------------------------------------------------------------------

    def upload(self, path: Path, title: str, transfer: Transfer | None = None) -> Json:
        body = MultipartBody([("title", title)], [FilePart("video_file", path)])
        if transfer is not None:
            transfer.start(body.content_length)
        return self._json("POST", "videos/upload", content=_counted(body, transfer), headers=body.headers)

    @contextmanager
    def resumable(self) -> Iterator[Tus]:
        """The resumable upload's requests; a connection that fails or breaks raises ``ApiUnreachable``."""
        with _transport_errors(self.base_url):
            yield Tus(self._http, self.base_url)

    def videos(self, limit: int | None = None, offset: int | None = None) -> list[Json]:
        return self._list("GET", "videos", params=_params(limit=limit, offset=offset))

    def video(self, video_id: str) -> Json:
        return self._json("GET", f"videos/{_segment(video_id)}")

    def delete(self, video_id: str) -> Json:
        return self._json("DELETE", f"videos/{_segment(video_id)}")

    def publish(self, video_id: str) -> Json:
        return self._json("POST", f"videos/{_segment(video_id)}/publish")

    def pick_poster(self, video_id: str, time_s: float) -> Json:
        return self._json("POST", f"videos/{_segment(video_id)}/poster", json={"time_s": time_s})

    def events(self, last_event_id: str | None = None) -> Iterator[sse.Event | sse.Comment]:
        """The caller's live events (docs/api.md), as they come, until the server ends the stream.
        Raises ``EventsUnsupported`` on 404, ``ApiUnreachable`` when the connection fails or breaks."""
        headers = {"Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(_EVENTS_READ_TIMEOUT, connect=_CONNECT_TIMEOUT)
        with (
            _transport_errors(self.base_url),
            self._http.stream("GET", "videos/events", headers=headers, timeout=timeout) as response,
        ):
            if response.status_code == 404:
                raise EventsUnsupported(f"{self.base_url}/videos/events answered 404")
            if response.is_error:
                response.read()
                raise ApiError.from_response(response)
            decoder = sse.Decoder()
            for line in response.iter_lines():
                item = decoder.feed(line)
                if item is not None:
                    yield item

    def wait(
        self,
        video_id: str,
        on_update: Callable[[Json], None],
        *,
        interval: float = 1.0,
        timeout: float = 900.0,
    ) -> Json:
        """Follow the video until it is ``processed`` or ``failed`` and return its detail; ``on_update``
        sees every state on the way. Follows the live events; polls every ``interval`` seconds a
        server that has none. Raises ``TimeoutError`` with the last status after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        try:
            return self._follow(video_id, on_update, deadline, timeout)
        except EventsUnsupported:
            return self._poll(video_id, on_update, interval, deadline, timeout)

    def _follow(
        self, video_id: str, on_update: Callable[[Json], None], deadline: float, timeout: float
    ) -> Json:
        video: Json = {}
        last_event_id = None
        connected_at = time.monotonic()
        while True:
            try:
                for item in self.events(last_event_id):
                    connected_at = time.monotonic()
                    if item == sse.Comment("connected"):
                        # From here on no change is missed: the state read now is current, even when
                        # the video finished while we were away (the snapshot leaves finished ones out).
                        video = self.video(video_id)
                    elif isinstance(item, sse.Event) and item.event == "video":
                        last_event_id = item.id
                        change = json.loads(item.data)
                        if change.get("video_id") != video_id:
                            continue
                        video = {**video, **change}
                    else:
                        _check_deadline(video_id, video, deadline, timeout)
                        continue
                    on_update(video)
                    if video.get("status") in FINAL_STATUSES:
                        # The detail has what an event does not carry (the download links).
                        return self.video(video_id)
                    _check_deadline(video_id, video, deadline, timeout)
            except ApiUnreachable:
                # A dropped connection (a gateway restarting, a flaky network) is retried for a while.
                if time.monotonic() - connected_at > _GIVE_UP_AFTER_S:
                    raise
            # The server ended the stream (it is stopping) or the connection broke: resume elsewhere.
            _check_deadline(video_id, video, deadline, timeout)
            time.sleep(_RECONNECT_AFTER_S)

    def _poll(
        self,
        video_id: str,
        on_update: Callable[[Json], None],
        interval: float,
        deadline: float,
        timeout: float,
    ) -> Json:
        while True:
            video = self.video(video_id)
            on_update(video)
            if video.get("status") in FINAL_STATUSES:
                return video
            _check_deadline(video_id, video, deadline, timeout)
            time.sleep(interval)

    # --- public ----------------------------------------------------------------------------------

    def public_videos(
        self, city: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> list[Json]:
        return self._list("GET", "public/videos", params=_params(city=city, limit=limit, offset=offset))

    def vote(self, video_id: str) -> Json:
        return self._json("POST", f"public/videos/{_segment(video_id)}/vote")

    def rankings(
        self, city: str | None = None, limit: int | None = None, offset: int | None = None
    ) -> list[Json]:
        return self._list("GET", "public/rankings", params=_params(city=city, limit=limit, offset=offset))

    # --- downloads -------------------------------------------------------------------------------

    def download(self, url: str, destination: Path, transfer: Transfer | None = None) -> int:
        """Stream ``url`` (a presigned link) into ``destination``; returns the bytes written.

        The bytes land in ``<destination>.part`` first, so an interrupted download never leaves a
        truncated file under the final name.
        """
        partial = destination.with_name(destination.name + ".part")
        written = 0
        try:
            # A presigned URL carries its own signature: S3 refuses one that also has our bearer token.
            with (
                httpx.Client(timeout=httpx.Timeout(_READ_TIMEOUT, connect=_CONNECT_TIMEOUT)) as plain,
                _transport_errors(url),
                plain.stream("GET", url) as response,
            ):
                if response.is_error:
                    response.read()
                    raise ApiError.from_response(response)
                length = response.headers.get("Content-Length")
                if transfer is not None:
                    transfer.start(int(length) if length and length.isdigit() else None)
                with partial.open("wb") as out:
                    for chunk in response.iter_bytes(_DOWNLOAD_CHUNK):
                        out.write(chunk)
                        written += len(chunk)
                        if transfer is not None:
                            transfer.advance(len(chunk))
            partial.replace(destination)
        finally:
            partial.unlink(missing_ok=True)
        return written

    # --- plumbing --------------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with _transport_errors(self.base_url):
            response = self._http.request(method, path, **kwargs)
        if response.is_error:
            raise ApiError.from_response(response)
        return response

    def _decoded(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            # Something answers at that URL, but not this API (a wrong --api, a proxy's page).
            raise ApiError(
                response.status_code, f"{method} /{path} did not answer JSON: {response.text[:200]!r}"
            ) from None

    def _json(self, method: str, path: str, **kwargs: Any) -> Json:
        body = self._decoded(method, path, **kwargs)
        if not isinstance(body, dict):
            raise ApiError(200, f"unexpected answer from {method} /{path}: {body!r:.200}")
        return body

    def _list(self, method: str, path: str, **kwargs: Any) -> list[Json]:
        body = self._decoded(method, path, **kwargs)
        if not isinstance(body, list):
            raise ApiError(200, f"unexpected answer from {method} /{path}: {body!r:.200}")
        return body


def _check_deadline(video_id: str, video: Json, deadline: float, timeout: float) -> None:
    if time.monotonic() >= deadline:
        raise TimeoutError(f"video {video_id} still {video.get('status')} after {timeout:.0f} s")


@contextmanager
def _transport_errors(url: str) -> Iterator[None]:
    try:
        yield
    except httpx.TransportError as error:
        raise ApiUnreachable(url, str(error) or type(error).__name__) from error


def _counted(body: MultipartBody, transfer: Transfer | None) -> Iterator[bytes]:
    for chunk in body:
        yield chunk
        if transfer is not None:
            transfer.advance(len(chunk))


def _params(**values: str | int | None) -> dict[str, str | int]:
    return {name: value for name, value in values.items() if value is not None}


def _segment(value: str) -> str:
    # An id typed by the user goes into the path: keep it one path segment whatever it contains,
    # so the gateway answers 404 for it instead of the request reaching another route.
    return quote(value, safe="")
