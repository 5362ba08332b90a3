"""moto server as a child process serving S3 and SQS, like the real endpoints it stands in for."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO

from anb_devstack.errors import StartError


class MotoServer:
    def __init__(self, port: int, host: str = "127.0.0.1", *, tls: tuple[Path, Path] | None = None) -> None:
        self.host = host
        self.port = port
        self.tls = tls
        """A certificate and its key (PEM files): served over HTTPS, as AWS is, instead of http."""
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def start(
        self,
        stdout: IO[bytes] | int | None = subprocess.DEVNULL,
        env: Mapping[str, str] | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        # A process group of its own: a Ctrl-C in the terminal reaches the launcher only, which stops
        # moto after everything that uses it.
        argv = [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(self.port)]
        if self.tls:
            argv += ["--ssl-cert", str(self.tls[0]), "--ssl-key", str(self.tls[1])]
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            env=env,
            process_group=0,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise StartError(f"moto server exited with {self._process.returncode} while starting")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise StartError(f"moto server did not listen on {self.url} within {timeout_s:.0f} s")

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        return self._process

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.terminate()
        try:
            self._process.wait(10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
