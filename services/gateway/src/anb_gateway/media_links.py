"""The links a processed video's poster, storyboard and HLS playlist are reached by, as the API hands
them out.

The poster is a presigned link straight to storage, like the MP4's. The storyboard and the playlist
are served by the gateway (``controllers.media``), which rewrites the relative URIs inside them
into presigned links. A player cannot send an Authorization header, so the link itself carries what
it needs: a published video's is plain (published videos are public for good: publishing cannot be
undone), an unpublished one's carries ``expires`` and ``signature``, an HMAC over the video id and
that expiry with a key derived from the access tokens' key. Only the owner is handed such a link
(their listing and detail); without a valid one the gateway answers 404, as for a video that does not
exist.

The expiry is rounded to a quarter of the lifetime, so a link is the same for a quarter of an hour
(the owner's cached listing, a page's cached copy, the browser's cache all see one address) and has
between three quarters of the lifetime and all of it left when handed out, as the presigned download
links do (``storage``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from anb_gateway.storage import Storage

PLAYLIST_NAME = "hls.m3u8"
STORYBOARD_NAME = "storyboard.vtt"
_PURPOSE = b"anb-gateway media links v1"


def _path(video_id: uuid.UUID, name: str) -> str:
    return f"/api/videos/{video_id}/{name}"


@dataclass(frozen=True, slots=True)
class MediaUrls:
    poster_url: str | None = None
    storyboard_url: str | None = None
    hls_url: str | None = None


NONE = MediaUrls()
"""What a video that is not processed has."""


class MediaLinks:
    def __init__(
        self, token_key: str, ttl_s: int, storage: Storage, clock: Callable[[], float] = time.time
    ) -> None:
        # A key of its own, derived from the tokens' key: a link's signature can never pass for
        # part of an access token, nor the other way round.
        self._key = hmac.new(token_key.encode(), _PURPOSE, hashlib.sha256).digest()
        self._ttl_s = ttl_s
        self._step_s = max(1, ttl_s // 4)
        self._storage = storage
        self._clock = clock

    def _signature(self, video_id: uuid.UUID, expires: int) -> str:
        digest = hmac.new(self._key, f"{video_id}:{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def signed_query(self, video_id: uuid.UUID) -> str:
        """``expires=…&signature=…`` for the owner's links to ``video_id``."""
        now = int(self._clock())
        expires = now - now % self._step_s + self._ttl_s
        return f"expires={expires}&signature={self._signature(video_id, expires)}"

    def valid(self, video_id: uuid.UUID, expires: str | None, signature: str | None) -> bool:
        """Whether ``expires``/``signature`` (as they came in the query) were signed here for this
        video and have not expired."""
        # isdigit() alone takes digits int() refuses ("²"); compare_digest refuses a non-ASCII str.
        if not expires or not signature or not (expires.isascii() and expires.isdigit()):
            return False
        if int(expires) <= self._clock():
            return False
        return hmac.compare_digest(signature.encode(), self._signature(video_id, int(expires)).encode())

    async def urls(
        self,
        base_url: str,
        video_id: uuid.UUID,
        *,
        published: bool,
        poster_key: str | None,
        storyboard_key: str | None,
        hls_key: str | None,
    ) -> MediaUrls:
        """The links of a processed video, None for what it does not have (yet). The gateway's are
        absolute (``base_url``, the address the request came to), so that any player (hls.js,
        Safari, the ffmpeg CLI) can use them as they are."""
        query = "" if published else "?" + self.signed_query(video_id)
        return MediaUrls(
            poster_url=await self._storage.download_url(poster_key) if poster_key else None,
            storyboard_url=f"{base_url}{_path(video_id, STORYBOARD_NAME)}{query}" if storyboard_key else None,
            hls_url=f"{base_url}{_path(video_id, PLAYLIST_NAME)}{query}" if hls_key else None,
        )
