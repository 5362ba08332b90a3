"""Fixed-window counting per key (a client address, an account), for the endpoints that guess
passwords cheaply.

Kept in process memory: each gateway instance counts on its own, which bounds guessing per instance
(a shared store would be needed for an exact global limit; for abuse throttling this is enough).

Bounded, and O(1) per call however full: the entries sit in the order their windows started (a key
whose window restarts moves to the end), so the expired ones are at the front. Each counting call
drops at most two of them (a call adds at most one entry, so they never pile up), and when the
table is full the oldest entry is forgotten. Forgetting a live entry restarts that key's count; to
push one out an attacker must fill the whole table within one window, from addresses that are each
throttled themselves, which buys fewer guesses than those addresses have anyway.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Hashable

_SWEEP_PER_CALL = 2


class FixedWindows:
    def __init__(self, limit: int, window_s: float, max_keys: int) -> None:
        self._limit = limit
        self._window_s = window_s
        self._max_keys = max_keys
        # key -> [window start, attempts counted in it]; a list, so that counting rewrites nothing.
        self._entries: OrderedDict[Hashable, list[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def count(self, key: Hashable, now: float) -> int:
        """Attempts counted for ``key`` in its current window."""
        entry = self._live(key, now)
        return int(entry[1]) if entry else 0

    def retry_after(self, key: Hashable, now: float) -> int | None:
        """Seconds until ``key`` may try again when it has used up its window; None while it may."""
        entry = self._live(key, now)
        return None if entry is None else self._refusal(entry, now)

    def hit(self, key: Hashable, now: float) -> int | None:
        """Count one attempt unless ``key`` is over its limit: None when allowed, else the seconds
        until its window reopens (a refusal is not counted, and adds no entry)."""
        if (wait := self.retry_after(key, now)) is not None:
            return wait
        self.add(key, now)
        return None

    def add(self, key: Hashable, now: float) -> None:
        """Count one attempt, whatever the count."""
        self._sweep(now)
        entry = self._live(key, now)
        if entry is None:
            self._start(key, now)
        else:
            entry[1] += 1

    def refund(self, key: Hashable, now: float) -> None:
        """Give back one attempt counted in ``key``'s current window (none: nothing to give back)."""
        entry = self._live(key, now)
        if entry is not None and entry[1] > 0:
            entry[1] -= 1

    def _refusal(self, entry: list[float], now: float) -> int | None:
        if entry[1] < self._limit:
            return None
        return max(1, math.ceil(entry[0] + self._window_s - now))

    def _sweep(self, now: float) -> None:
        entries = self._entries
        for _ in range(_SWEEP_PER_CALL):
            if not entries or now - next(iter(entries.values()))[0] < self._window_s:
                return
            entries.popitem(last=False)

    def _start(self, key: Hashable, now: float) -> None:
        """A new window for ``key``, at the back of the order."""
        entries = self._entries
        if entries.pop(key, None) is None and len(entries) >= self._max_keys:
            entries.popitem(last=False)
        entries[key] = [now, 1]

    def _live(self, key: Hashable, now: float) -> list[float] | None:
        entry = self._entries.get(key)
        if entry is None or now - entry[0] >= self._window_s:
            return None
        return entry
