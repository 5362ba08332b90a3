"""Fixed-window request counting per client address, for the endpoints that guess passwords cheaply.

Kept in process memory: each gateway instance counts on its own, which bounds guessing per instance
(a shared store would be needed for an exact global limit; for abuse throttling this is enough).
"""

from __future__ import annotations

import math
import time

_WINDOW_S = 60.0
# Expired windows are swept when the table grows past this, so a flood of addresses cannot grow it forever.
_SWEEP_AT = 10_000


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self._limit = per_minute
        self._windows: dict[str, tuple[float, int]] = {}

    def hit(self, key: str, now: float | None = None) -> int | None:
        """Count one request; None when allowed, else the seconds until the window reopens."""
        now = time.monotonic() if now is None else now
        start, count = self._windows.get(key, (now, 0))
        if now - start >= _WINDOW_S:
            start, count = now, 0
        if count >= self._limit:
            return max(1, math.ceil(start + _WINDOW_S - now))
        self._windows[key] = (start, count + 1)
        if len(self._windows) > _SWEEP_AT:
            self._windows = {k: v for k, v in self._windows.items() if now - v[0] < _WINDOW_S}
        return None
