"""A video's stored playlist or storyboard as the gateway serves it: read from storage, each URI inside
replaced by a presigned link (``media_rewrite``), and kept in memory while those links are young.

Presigning costs ~0.5-1 ms of CPU a link (``storage``) and a playlist names some twenty files, so a
rewritten text is reused: a player that fetches the playlist again, or the next visitor, gets the
same text while its links have at least half their lifetime left (30 min of the default hour, time
to play and pause a 35 s video many times over). Bounded: past ``max_entries`` the least recently
used text is dropped (each is a few tens of KB).

Entries are keyed by the object's key, which names one content for good (the playlist and storyboard
are written once per video). Whoever asks has already been allowed to see the video, and a deleted
video is refused before its entry is looked at (the entry ages out like any other).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from anb_gateway import media_rewrite
from anb_gateway.storage import Storage

# A served text's links keep at least this fraction of their lifetime.
_REUSE_FRACTION = 0.5


@dataclass(frozen=True, slots=True)
class Kind:
    """How to find the URIs of one kind of text, and how to replace them."""

    uris: Callable[[str], list[str]]
    rewrite: media_rewrite.Rewrite


PLAYLIST = Kind(media_rewrite.playlist_uris, media_rewrite.rewrite_playlist)
STORYBOARD = Kind(media_rewrite.storyboard_uris, media_rewrite.rewrite_storyboard)


@dataclass(frozen=True, slots=True)
class Served:
    body: bytes
    fresh_s: int
    """Seconds this very text may still be served (and cached by whoever fetched it: the
    ``Cache-Control`` max-age), its links keeping at least half their lifetime until then."""


class MissingFile(LookupError):
    """The row names a text that storage does not have."""


class MediaFiles:
    def __init__(
        self,
        storage: Storage,
        expiry_s: int,
        max_entries: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._storage = storage
        self._reuse_s = expiry_s * _REUSE_FRACTION
        self._max_entries = max_entries
        self._clock = clock
        self._texts: OrderedDict[str, tuple[bytes, float]] = OrderedDict()

    async def served(self, key: str, kind: Kind) -> Served:
        """The text stored at ``key`` with its URIs replaced by presigned links. Raises
        ``MissingFile`` when there is no such object."""
        now = self._clock()
        cached = self._texts.get(key)
        if cached is not None and now - cached[1] < self._reuse_s:
            self._texts.move_to_end(key)
            return Served(cached[0], self._fresh_s(now, cached[1]))
        stored = await self._storage.read(key)
        if stored is None:
            raise MissingFile(key)
        text = stored.decode()
        uris = kind.uris(text)
        links = await self._storage.download_urls([media_rewrite.key_beside(key, uri) for uri in uris])
        served = kind.rewrite(text, dict(zip(uris, links, strict=True))).encode()
        self._texts[key] = (served, now)
        self._texts.move_to_end(key)
        while len(self._texts) > self._max_entries:
            self._texts.popitem(last=False)
        return Served(served, self._fresh_s(now, now))

    def _fresh_s(self, now: float, minted: float) -> int:
        return max(0, int(minted + self._reuse_s - now))
