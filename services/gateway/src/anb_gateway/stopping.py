"""Hearing that the server is stopping before it waits for the responses still open.

On SIGTERM (systemd's stop) or SIGINT (Ctrl-C), uvicorn closes its sockets, then waits for every open
response to finish (up to ``--timeout-graceful-shutdown``, 100 s as deployed) and only then runs the
app's shutdown: nothing tells the app in between. An event stream never finishes by itself, so each
one would hold every stop for that long. The handlers uvicorn installed are therefore wrapped for
the life of the app: the callback ends the streams, and the browsers reconnect to another instance.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import TypeAlias

Handler: TypeAlias = Callable[[int, FrameType | None], object]
_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def on_stop_signal(callback: Callable[[], None]) -> Callable[[], None]:
    """Run ``callback`` on this event loop when SIGTERM or SIGINT arrives, before the handler that was
    there; returns what undoes it. Does nothing where no Python handler is installed (not under a
    server that stops gracefully) or off the main thread (signals cannot be handled there)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    wrapped: dict[int, tuple[Handler, Handler]] = {}
    for sig in _SIGNALS:
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(
            signum: int,
            frame: FrameType | None,
            previous: Callable[[int, FrameType | None], object] = previous,
        ) -> None:
            loop.call_soon_threadsafe(callback)
            previous(signum, frame)

        signal.signal(sig, handler)
        wrapped[sig] = (handler, previous)

    def undo() -> None:
        for sig, (handler, previous) in wrapped.items():
            # Put back only our own: whoever installed a handler after us keeps it.
            if signal.getsignal(sig) is handler:
                signal.signal(sig, previous)

    return undo
