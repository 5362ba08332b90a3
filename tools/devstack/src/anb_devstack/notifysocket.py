"""systemd's side of ``sd_notify`` for tests: a unix datagram socket a service is pointed at with
``NOTIFY_SOCKET``, keeping every assignment it receives (``READY=1``, ``STATUS=…``) in order."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path


class NotifySocket:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.received: list[str] = []
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind(str(path))

    @property
    def env(self) -> dict[str, str]:
        return {"NOTIFY_SOCKET": str(self.path)}

    def wait_for(self, assignment: str, timeout_s: float) -> list[str]:
        """Read until ``assignment`` arrives (or raise TimeoutError); returns all received so far."""
        return self.wait_until(lambda received: assignment in received, timeout_s)

    def wait_until(self, done: Callable[[list[str]], bool], timeout_s: float) -> list[str]:
        """Read until ``done(received)`` holds (or raise TimeoutError); returns all received so far."""
        deadline = time.monotonic() + timeout_s
        while not done(self.received):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"not there within {timeout_s:.0f} s; received {self.received}")
            self._socket.settimeout(left)
            try:
                datagram = self._socket.recv(4096)
            except TimeoutError:
                continue
            self.received.extend(datagram.decode().split("\n"))
        return self.received

    def close(self) -> None:
        self._socket.close()
        self.path.unlink(missing_ok=True)
