"""The resumable upload (tus 1.0.0, docs/api.md "Resumable uploads") as ``anb upload`` speaks it: our
own few requests over the CLI's httpx client rather than ``tuspy``, which would bring ``requests``
and ``aiohttp`` into a CLI that has httpx already, and whose progress and resume store are not ours.

The file is sent in PATCHes of ``PATCH_BYTES``, each streamed from disk (never held in memory),
from the offset the server says it has stored; ``Upload-Offset`` in each answer is where the next
starts. A 409 (our offset is not the server's) is settled with a HEAD, a 423 (another request is
still writing, such as the previous run's PATCH the server has not yet seen end) by waiting.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx

TUS_VERSION = "1.0.0"
PATCH_BYTES = 16 * 1024 * 1024
"""Bytes per PATCH: two of the server's 8 MiB parts, so each PATCH ends on a part boundary."""
VIDEO_STATUS_HEADER = "ANB-Video-Status"
_READ_BYTES = 256 * 1024
# A 423 lasts until the server's lease of the interrupted PATCH is freed or lapses (20 s at most).
_LOCKED_TRIES = 12
_LOCKED_WAIT_S = 5.0


class UploadGone(Exception):
    """The upload no longer exists on the server (404/410: finished long ago, expired, cancelled)."""


class Refused(Exception):
    """The server answered an error; ``response`` says which (the caller turns it into an ApiError)."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.request.method} answered {response.status_code}")
        self.response = response


@dataclass(frozen=True)
class Created:
    url: str
    expires_at: float
    """Unix time of ``Upload-Expires``."""


def video_id(url: str) -> str:
    """The video's id: the upload's, the last segment of its URL."""
    return url.rstrip("/").rsplit("/", 1)[-1]


class Tus:
    def __init__(self, http: httpx.Client, base_url: str) -> None:
        self._http = http
        self._collection = base_url.rstrip("/") + "/uploads/"

    def offered(self) -> bool:
        """The server speaks tus 1.0.0 at /api/uploads/ (an older gateway does not)."""
        response = self._http.options(self._collection)
        return response.is_success and TUS_VERSION in response.headers.get("Tus-Version", "")

    def create(self, length: int, title: str, filename: str) -> Created:
        metadata = ",".join(
            f"{key} {base64.b64encode(value.encode()).decode()}"
            for key, value in (("title", title), ("filename", filename))
        )
        headers = {"Tus-Resumable": TUS_VERSION, "Upload-Length": str(length), "Upload-Metadata": metadata}
        response = self._http.post(self._collection, headers=headers)
        if response.status_code != 201:
            raise Refused(response)
        expires = parsedate_to_datetime(response.headers["Upload-Expires"]).timestamp()
        # Location is absolute, as the gateway builds it (its scheme follows the ALB's).
        return Created(str(response.url.join(response.headers["Location"])), expires)

    def offset(self, url: str) -> int:
        """How much of the upload the server has stored."""
        response = self._http.head(url, headers={"Tus-Resumable": TUS_VERSION})
        if response.status_code in (404, 410):
            raise UploadGone(url)
        if response.status_code != 200:
            raise Refused(response)
        return int(response.headers["Upload-Offset"])

    def terminate(self, url: str) -> None:
        self._http.delete(url, headers={"Tus-Resumable": TUS_VERSION})

    def send(self, url: str, path: Path, offset: int, length: int, sent: Callable[[int], None]) -> None:
        """Send ``path`` from ``offset`` to its end. ``sent`` sees each position of the file reached
        as bytes go out (not all of them stored: a cut connection loses what the server had not
        stored yet)."""
        locked = 0
        while True:
            end = min(offset + PATCH_BYTES, length)
            headers = {
                "Tus-Resumable": TUS_VERSION,
                "Upload-Offset": str(offset),
                "Content-Type": "application/offset+octet-stream",
                "Content-Length": str(end - offset),
            }
            response = self._http.patch(url, content=_read(path, offset, end, sent), headers=headers)
            if response.status_code == 204:
                offset = int(response.headers["Upload-Offset"])
                if VIDEO_STATUS_HEADER in response.headers or offset >= length:
                    return
                locked = 0
            elif response.status_code == 409:
                offset = self.offset(url)
            elif response.status_code == 423 and locked < _LOCKED_TRIES:
                locked += 1
                time.sleep(float(response.headers.get("Retry-After", _LOCKED_WAIT_S)))
                offset = self.offset(url)
            else:
                raise Refused(response)


def _read(path: Path, start: int, end: int, sent: Callable[[int], None]) -> Iterator[bytes]:
    with path.open("rb") as source:
        source.seek(start)
        position = start
        while position < end:
            chunk = source.read(min(_READ_BYTES, end - position))
            if not chunk:
                raise ValueError(f"{path} is shorter than when the upload began")
            yield chunk
            position += len(chunk)
            sent(position)
