"""``make run``: the whole platform on this machine, every part a real process, logs on one console.

Order matters: storage and database first, then schema and buckets, then the services that need them.
Each run starts from a clean slate (moto keeps S3 and SQS only in memory, so a database that outlived
them would point at objects that no longer exist); only generated secrets live on in .devdata/.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from anb_common.aws import Aws
from anb_common.db.migrate import upgrade
from anb_common.settings import AwsSettings
from anb_common.signing_keys import INTERNAL, JWT, dev_keys
from anb_devstack import brand
from anb_devstack.moto import MotoServer
from anb_devstack.postgres import EmbeddedPostgres
from anb_devstack.provision import provision

GATEWAY_KEEP_ALIVE_S = 130
"""As deployed (deploy/systemd/anb-gateway.service, longer than the ALB's idle timeout): idle client
connections stay usable for longer than any think time, as they do behind the ALB."""
_COLOURS = {"moto": 90, "gateway": 36, "ingest": 35, "transcoder": 33, "launcher": 32}


@dataclass
class Ports:
    gateway: int = 8000
    ingest: int = 8001
    moto: int = 5000
    postgres: int = 5432


@dataclass
class Child:
    part: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    restarts: list[float] = field(default_factory=list)


# Like systemd's Restart=on-failure with StartLimitBurst: a crash is restarted, a crash loop is not.
_RESTART_BURST = 5
_RESTART_WINDOW_S = 60.0


@dataclass
class Platform:
    devdata: Path
    ports: Ports = field(default_factory=Ports)
    workers: int = 1
    colour: bool = True
    services_aws_endpoint: str | None = None
    """Where the services reach S3/SQS, when not moto itself (fault tests put an outage proxy between)."""
    _children: list[Child] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.moto = MotoServer(self.ports.moto)
        self.postgres = EmbeddedPostgres(self.devdata / "pg", self.ports.postgres)

    def say(self, part: str, line: str) -> None:
        prefix = f"{part:<12}|"
        if self.colour:
            prefix = f"\033[{_COLOURS.get(part.split('-')[0], 37)}m{prefix}\033[0m"
        with self._lock:
            sys.stdout.write(f"{prefix} {line}\n")
            sys.stdout.flush()

    def env(self) -> dict[str, str]:
        keys = dev_keys(self.devdata)
        env = dict(os.environ)
        env.update(
            {
                "ANB_DEV_MODE": "true",
                "ANB_DEVDATA_DIR": str(self.devdata),
                "ANB_DB_URL": self.postgres.url,
                "ANB_AWS_ENDPOINT_URL": self.services_aws_endpoint or self.moto.url,
                "ANB_JWT_SECRET": keys[JWT],
                "ANB_INTERNAL_SECRET": keys[INTERNAL],
                "ANB_INGEST_URL": f"http://127.0.0.1:{self.ports.ingest}",
                "ANB_PROCESSING_TEMP_DIR": str(self.devdata / "anb-temp"),
                "ANB_INGEST_TEMP_DIR": str(self.devdata / "ingest-temp"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def _popen(self, part: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert process.stdout is not None
        threading.Thread(target=self._pump, args=(part, process.stdout), daemon=True).start()
        return process

    def _spawn(self, part: str, argv: list[str], env: dict[str, str]) -> None:
        self._children.append(Child(part, argv, env, self._popen(part, argv, env)))

    def _pump(self, part: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(part, raw.decode(errors="replace").rstrip())

    def _check_ports_free(self) -> None:
        for name, port in vars(self.ports).items():
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    raise RuntimeError(f"port {port} ({name}) is in use: is another `make run` still going?")

    def start(self) -> None:
        started = time.monotonic()
        self._check_ports_free()
        self.say("launcher", f"starting moto on :{self.ports.moto} and PostgreSQL on :{self.ports.postgres}")
        env = self.env()
        self._spawn_moto(env)
        self.postgres.init(fresh=True)
        self.postgres.start()
        upgrade(self.postgres.url)
        aws_settings = AwsSettings(endpoint_url=self.moto.url)
        asyncio.run(provision(Aws(aws_settings), brand.seed_objects()))
        self.say("launcher", "schema migrated, bucket, queues and brand assets in place")
        uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "--loop", "uvloop", "--host", "127.0.0.1"]
        self._spawn("ingest", [*uvicorn, "--port", str(self.ports.ingest), "anb_ingest.app:create_app"], env)
        gateway = ["--port", str(self.ports.gateway), "--timeout-keep-alive", str(GATEWAY_KEEP_ALIVE_S)]
        self._spawn("gateway", [*uvicorn, *gateway, "anb_gateway.app:create_app"], env)
        for index in range(self.workers):
            self._spawn(f"transcoder-{index + 1}", [sys.executable, "-m", "anb_transcoder"], env)
        self._wait_healthy()
        self.say(
            "launcher",
            f"ready in {time.monotonic() - started:.1f} s: http://127.0.0.1:{self.ports.gateway}/api "
            f"(docs at /api/docs); Ctrl-C stops everything",
        )

    def _spawn_moto(self, env: dict[str, str]) -> None:
        self.moto.start(stdout=subprocess.PIPE, env=env)
        process = self.moto.process
        assert process is not None
        assert process.stdout is not None
        threading.Thread(target=self._pump, args=("moto", process.stdout), daemon=True).start()

    def _wait_healthy(self, timeout_s: float = 180.0) -> None:
        """Ready means both HTTP services answer: the gateway alone would accept uploads it cannot pass on."""
        pending = [
            f"http://127.0.0.1:{self.ports.ingest}/internal/health",
            f"http://127.0.0.1:{self.ports.gateway}/api/health",
        ]
        deadline = time.monotonic() + timeout_s
        while pending and time.monotonic() < deadline:
            for child in self._children:
                if child.process.poll() is not None:
                    raise RuntimeError(f"{child.part} exited with {child.process.returncode} during start-up")
            try:
                with urllib.request.urlopen(pending[0], timeout=1) as response:  # noqa: S310 - our own URLs
                    if response.status == 200:
                        pending.pop(0)
                        continue
            except OSError:
                pass
            time.sleep(0.2)
        if pending:
            raise TimeoutError(f"{pending[0]} did not answer 200 within {timeout_s:.0f} s")

    def stop(self) -> None:
        # Reverse order: workers and web first (they hand back jobs and finish requests), storage last.
        for child in reversed(self._children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        for child in reversed(self._children):
            try:
                # Long enough for a worker to hand its job back; a dev machine should not wait for 240 s.
                child.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.say("launcher", f"{child.part} did not stop in 60 s; killing it")
                child.process.kill()
                child.process.wait()
        self.postgres.stop()
        self.moto.stop()
        self.say("launcher", "stopped")

    def wait(self) -> None:
        """Supervise the services until one crash-loops (or Ctrl-C): a crashed one is restarted."""
        while True:
            for child in self._children:
                code = child.process.poll()
                if code is None:
                    continue
                now = time.monotonic()
                child.restarts = [at for at in child.restarts if now - at < _RESTART_WINDOW_S] + [now]
                if len(child.restarts) > _RESTART_BURST:
                    self.say("launcher", f"{child.part} keeps exiting ({code}); stopping the platform")
                    return
                self.say("launcher", f"{child.part} exited with {code}; restarting it")
                child.process = self._popen(child.part, child.argv, child.env)
            time.sleep(0.5)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the whole ANB Video platform locally.")
    parser.add_argument("--workers", type=int, default=1, help="transcoder worker processes")
    parser.add_argument("--devdata", type=Path, default=Path(".devdata"), help="state folder (git-ignored)")
    parser.add_argument("--gateway-port", type=int, default=8000)
    parser.add_argument("--ingest-port", type=int, default=8001)
    parser.add_argument("--moto-port", type=int, default=5000)
    parser.add_argument("--postgres-port", type=int, default=5432)
    parser.add_argument("--no-colour", action="store_true")
    parser.add_argument("--services-aws-endpoint", help="S3/SQS endpoint the services use (default: moto)")
    args = parser.parse_args()
    ports = Ports(args.gateway_port, args.ingest_port, args.moto_port, args.postgres_port)
    platform = Platform(
        args.devdata.resolve(),
        ports,
        args.workers,
        colour=not args.no_colour,
        services_aws_endpoint=args.services_aws_endpoint,
    )
    # SIGTERM (from a test harness or systemd) stops as cleanly as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        platform.start()
        platform.wait()
    except KeyboardInterrupt:
        platform.say("launcher", "stopping")
    finally:
        # A second Ctrl-C (or a signal from uv or a harness) must not cut the shutdown short and
        # leave PostgreSQL or a worker running behind us.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        platform.stop()


if __name__ == "__main__":
    main()
