"""A TCP proxy on 127.0.0.1 that, once armed, cuts the connection after a given number of request
bytes, once: an upload interrupted mid-stream as a dropped mobile link interrupts it. Or, told to
hold, stops passing request bytes there until released: an upload caught mid-request for as long as
a test needs (to kill a service under it)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class CuttingProxy:
    def __init__(self, target: tuple[str, int]) -> None:
        self._target = target
        self._cut_after: int | None = None
        self.forwarded = 0
        """Request bytes passed on so far, over every connection."""
        self.cut = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._cutting_now = False
        self._hold_at: int | None = None
        self.held = threading.Event()
        """Set once the request bytes reached the hold point."""
        self._released = threading.Event()

    def serve(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, counted: bool) -> None:
        try:
            while data := source.recv(65536):
                later = None
                if counted:
                    data, later = self._held_back(self._count(data))
                sink.sendall(data)
                if later is not None:
                    self._released.wait()
                    sink.sendall(later)
                if counted and self.cut.is_set() and self._cutting_now:
                    self._cutting_now = False
                    return
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    # shutdown first: close alone does not end a socket another thread is reading.
                    end.shutdown(socket.SHUT_RDWR)
                with contextlib.suppress(OSError):
                    end.close()

    def _count(self, data: bytes) -> bytes:
        """What of ``data`` passes: all of it, or up to the cut."""
        with self._lock:
            if self._cut_after is not None and not self.cut.is_set():
                room = self._cut_after - self.forwarded
                if room <= len(data):
                    data = data[: max(room, 0)]
                    self.cut.set()
                    self._cutting_now = True
            self.forwarded += len(data)
        return data

    def _held_back(self, data: bytes) -> tuple[bytes, bytes | None]:
        """``data`` split into what passes now and, when it reaches the hold, what waits for
        ``release`` (None: nothing waits)."""
        with self._lock:
            if self._hold_at is None or self.held.is_set():
                return data, None
            before = self.forwarded - len(data)
            if self.forwarded < self._hold_at:
                return data, None
            self.held.set()
            room = self._hold_at - before
            return data[:room], data[room:]

    def hold(self, after: int) -> None:
        """Stop passing request bytes once ``after`` more have passed, until ``release``."""
        with self._lock:
            self._hold_at = self.forwarded + after

    def release(self) -> None:
        self._released.set()

    def arm(self, after: int) -> None:
        """Cut once ``after`` more request bytes have passed."""
        with self._lock:
            self._cut_after = self.forwarded + after

    def close(self) -> None:
        self._released.set()
        self._listener.close()


@contextmanager
def cutting_proxy(target: tuple[str, int]) -> Iterator[CuttingProxy]:
    proxy = CuttingProxy(target)
    thread = threading.Thread(target=proxy.serve, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        proxy.close()
