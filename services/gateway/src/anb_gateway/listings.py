"""Each player's own video listing, kept in memory between their requests and dropped when it changes.

Players poll ``GET /api/videos`` while their uploads are processed; answering from memory saves the
database round trip that was most of an authenticated read's cost. Correctness rests on the change
feed (anb_gateway.changes): PostgreSQL notifies every gateway process when a player's listing changes,
and the cache serves nothing while that feed is not connected. Notices arrive within milliseconds of
the commit; until then a listing may be that much old. ``ttl_s`` bounds the age of any entry anyway
(a notice lost on a half-open connection, the age of the download links inside it).

A store is refused when the owner changed (or the feed dropped) after the read that produced it, so
that a read racing a change can never put the old listing back.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")

Page = tuple[int, int]
"""(limit, offset) of one page of a listing."""
Version = tuple[int, int]
"""What a read saw: (feed epoch, owner's last change) — a store succeeds only if both are unchanged."""


class OwnerListings(Generic[T]):
    def __init__(self, ttl_s: float, max_owners: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._max_owners = max_owners
        self._clock = clock
        self._pages: dict[uuid.UUID, dict[Page, tuple[float, T]]] = {}
        self._changed_at: dict[uuid.UUID, int] = {}
        self._ticks = itertools.count(1)
        self._epoch = 0
        self.enabled = False

    def get(self, owner: uuid.UUID, page: Page) -> T | None:
        if not self.enabled:
            return None
        entry = self._pages.get(owner, {}).get(page)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]

    def version(self, owner: uuid.UUID) -> Version:
        """Taken before the database read whose result will be offered to ``put``."""
        return self._epoch, self._changed_at.get(owner, 0)

    def put(self, owner: uuid.UUID, page: Page, value: T, read: Version) -> bool:
        if not self.enabled or self._ttl_s <= 0 or read != self.version(owner):
            return False
        if owner not in self._pages and len(self._pages) >= self._max_owners:
            # Bounded memory: start over rather than track recency on every hit.
            self.clear()
            return False
        self._pages.setdefault(owner, {})[page] = (self._clock() + self._ttl_s, value)
        return True

    def changed(self, owner: uuid.UUID) -> None:
        """The owner's listing changed (a notice from the feed, or this process's own write)."""
        self._pages.pop(owner, None)
        self._changed_at[owner] = next(self._ticks)
        if len(self._changed_at) > self._max_owners:
            self.clear()

    def start_serving(self) -> None:
        """The feed is listening: from now on every change is heard, so entries may be kept."""
        self.clear()
        self.enabled = True

    def stop_serving(self) -> None:
        """The feed is lost: changes would go unheard, so nothing is kept or served until it is back."""
        self.enabled = False
        self.clear()

    def clear(self) -> None:
        self._pages.clear()
        self._changed_at.clear()
        # Reads in flight saw the old epoch: their stores are refused.
        self._epoch += 1
