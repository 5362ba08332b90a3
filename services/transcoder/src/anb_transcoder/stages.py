"""Run one pipeline stage (an iterator) in its own thread, so that it overlaps the next stage.

PyAV releases the GIL inside FFmpeg calls (decode, filter, encode), so the threads really run at
once; the queue between them is bounded to cap memory.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

_POLL_S = 0.1
"""How often a blocked producer checks whether the consumer has gone away."""


class _End:
    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


class Background(Generic[T]):
    """Iterates ``source`` in a daemon thread; ``close()`` (or leaving early) stops that thread."""

    def __init__(self, source: Iterator[T], ahead: int) -> None:
        self._items: queue.Queue[T | _End] = queue.Queue(maxsize=ahead)
        self._closed = threading.Event()
        self._done = False
        self._thread = threading.Thread(
            target=self._produce, args=(source,), name="pipeline-stage", daemon=True
        )
        self._thread.start()

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        item = self._items.get()
        if isinstance(item, _End):
            self._done = True
            if item.error is not None:
                raise item.error
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop the producer and wait for it, so that it no longer touches the shared demuxer."""
        self._closed.set()
        self._thread.join()

    def _produce(self, source: Iterator[T]) -> None:
        end = _End()
        try:
            for item in source:
                if not self._put(item):
                    return
        except BaseException as exc:  # handed to the consumer, which re-raises it
            end = _End(exc)
        self._put(end)

    def _put(self, item: T | _End) -> bool:
        while not self._closed.is_set():
            try:
                self._items.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False


def in_background(source: Iterator[T], ahead: int) -> Background[T]:
    return Background(source, ahead)
