"""The events this process sent lately, numbered, so that a stream that reconnects resumes where it stopped.

Ids come from one counter per process, started at the wall clock in microseconds: they increase
within a stream, and a process started later begins above the ids of the one before it (it would
have had to send more than a million events a second to catch up). ``since`` resumes only after an
id it holds, for the same player; anything else (an id of another process or an older one, an id
evicted or forgotten) answers None, and the caller sends the snapshot instead, which is
always correct, only longer.
"""

from __future__ import annotations

import time
import uuid
from collections import deque
from collections.abc import Callable


class EventLog:
    def __init__(self, capacity: int, clock: Callable[[], float] = time.time) -> None:
        self._recent: deque[tuple[int, uuid.UUID, bytes]] = deque(maxlen=capacity)
        self.next_id = int(clock() * 1_000_000)

    def add(self, owner: uuid.UUID, render: Callable[[int], bytes]) -> bytes:
        """The owner's next event, as ``render`` writes it with its id; kept for ``since``."""
        event_id = self.next_id
        self.next_id += 1
        frame = render(event_id)
        self._recent.append((event_id, owner, frame))
        return frame

    def since(self, owner: uuid.UUID, last: int) -> list[bytes] | None:
        """The owner's events after id ``last``, oldest first, or None when it is not held here."""
        after: list[bytes] = []
        # From the newest back: a client that reconnects at once is found after a few steps.
        for event_id, sent_to, frame in reversed(self._recent):
            if event_id < last:
                return None
            if event_id == last:
                return after[::-1] if sent_to == owner else None
            if sent_to == owner:
                after.append(frame)
        return None

    def forget(self) -> None:
        """Notices may have been missed: no earlier id may be resumed from any more."""
        self._recent.clear()
