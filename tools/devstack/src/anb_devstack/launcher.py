"""``make run``: the whole platform on this machine, every part a real process, logs on one console.

Order matters: storage and database first, then schema and buckets, then the services that need them.
Each run starts from a clean slate (moto keeps S3 and SQS only in memory, so a database that outlived
them would point at objects that no longer exist); only generated secrets live on in .devdata/.

Stopping (Ctrl-C or SIGTERM) goes the other way, each step waiting for the one before: the transcoders
first (a running job finishes, or is handed back when the worker's grace period ends), then the gateway
and ingest, then PostgreSQL and moto once nothing uses them. Every part runs in a process group of its
own, so that a Ctrl-C in the terminal reaches the launcher alone and this order holds. A second Ctrl-C
kills what is still running, and still stops PostgreSQL and moto.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
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
from anb_devstack.errors import StartError
from anb_devstack.moto import MotoServer
from anb_devstack.ports import Ports
from anb_devstack.postgres import EmbeddedPostgres
from anb_devstack.provision import provision

GATEWAY_KEEP_ALIVE_S = 130
"""As deployed (deploy/systemd/anb-gateway.service, longer than the ALB's idle timeout): idle client
connections stay usable for longer than any think time, as they do behind the ALB."""
GATEWAY_PROXY_FLAGS = ("--no-proxy-headers",)
"""Locally nothing stands in front of the gateway, so no X-Forwarded-For is believed: uvicorn's default
trusts 127.0.0.1, which would let any local client pick the address the login limiter counts."""
_COLOURS = {"moto": 90, "gateway": 36, "ingest": 35, "transcoder": 33, "launcher": 32}
# uvicorn finishes the requests in flight before it exits; one still going after this is stuck.
_WEB_STOP_S = 30.0
_STILL_WAITING_EVERY_S = 10.0


@dataclass
class Child:
    part: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    pump: threading.Thread
    """Copies the process's output to the console; joined after it exits, so its last lines come first."""
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
    _moto_pump: threading.Thread | None = None
    _hurry: threading.Event = field(default_factory=threading.Event)
    _hurried_by: str = ""
    _started: bool = False

    def __post_init__(self) -> None:
        self.moto = MotoServer(self.ports.moto)
        self.postgres = EmbeddedPostgres(
            self.devdata / "pg", self.ports.postgres, say=lambda line: self.say("launcher", line)
        )

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
        # The services publish their figures to moto's CloudWatch, as deployed to the real one, and
        # `make stats` reads them back; every 10 s so they show soon. A caller's values win (tests).
        env.setdefault("ANB_METRICS_PUBLISH", "true")
        env.setdefault("ANB_METRICS_INTERVAL_S", "10")
        return env

    def _popen(
        self, part: str, argv: list[str], env: dict[str, str]
    ) -> tuple[subprocess.Popen[bytes], threading.Thread]:
        # A process group of its own: see the module's docstring.
        process = subprocess.Popen(
            argv,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
        )
        assert process.stdout is not None
        return process, self._start_pump(part, process.stdout)

    def _start_pump(self, part: str, stream: IO[bytes]) -> threading.Thread:
        pump = threading.Thread(target=self._pump, args=(part, stream), daemon=True)
        pump.start()
        return pump

    def _spawn(self, part: str, argv: list[str], env: dict[str, str]) -> None:
        self._children.append(Child(part, argv, env, *self._popen(part, argv, env)))

    def _pump(self, part: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(part, raw.decode(errors="replace").rstrip())

    def start(self) -> None:
        started = time.monotonic()
        self.ports.check_free()
        self._started = True
        self.say(
            "launcher",
            f"starting moto on :{self.ports.moto} and PostgreSQL on :{self.ports.postgres} "
            f"(its log: {self.postgres.log})",
        )
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
        self._spawn("gateway", [*uvicorn, *gateway, *GATEWAY_PROXY_FLAGS, "anb_gateway.app:create_app"], env)
        for index in range(self.workers):
            self._spawn(f"transcoder-{index + 1}", [sys.executable, "-m", "anb_transcoder"], env)
        self._wait_healthy()
        self.say(
            "launcher",
            f"ready in {time.monotonic() - started:.1f} s: http://127.0.0.1:{self.ports.gateway}/api "
            f"(docs at /api/docs); figures: make stats MOTO_PORT={self.ports.moto}; Ctrl-C stops everything",
        )

    def _spawn_moto(self, env: dict[str, str]) -> None:
        self.moto.start(stdout=subprocess.PIPE, env=env)
        process = self.moto.process
        assert process is not None
        assert process.stdout is not None
        self._moto_pump = self._start_pump("moto", process.stdout)

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
                    raise StartError(f"{child.part} exited with {child.process.returncode} during start-up")
            try:
                with urllib.request.urlopen(pending[0], timeout=1) as response:  # noqa: S310 - our own URLs
                    if response.status == 200:
                        pending.pop(0)
                        continue
            except OSError:
                pass
            time.sleep(0.2)
        if pending:
            raise StartError(f"{pending[0]} did not answer 200 within {timeout_s:.0f} s")

    def hurry(self, signum: int, frame: object) -> None:
        """Signal handler while stopping: stop what is left at once. It only sets a flag: printing from
        here could deadlock on the console lock that the interrupted code may hold.

        One Ctrl-C in a terminal reaches the launcher twice under ``make run``: the terminal signals
        the whole process group, and ``uv run`` forwards its own copy to its child. A signal within
        ``_SAME_KEYPRESS_S`` of the one that started the stop is that copy, not a second Ctrl-C."""
        if time.monotonic() - _first_interrupt_at < _SAME_KEYPRESS_S:
            return
        self._hurried_by = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
        self._hurry.set()

    def stop(self) -> None:
        """Each part after those that use it (see the module's docstring)."""
        if not self._started:
            return
        started = time.monotonic()
        transcoders = [child for child in self._children if child.part.startswith("transcoder")]
        self._stop_stage(
            transcoders,
            "a running job finishes, or is handed back when the grace period (ANB_WORKER_GRACE_S) ends",
            limit_s=None,  # the worker's grace period bounds it
        )
        for part in ("gateway", "ingest"):
            self._stop_stage(
                [child for child in self._children if child.part == part],
                "requests in flight finish",
                _WEB_STOP_S,
            )
        self.say("launcher", "stopping PostgreSQL and moto")
        self.postgres.stop()
        self.moto.stop()
        if self._moto_pump is not None:
            self._moto_pump.join(timeout=2)
        self.say("launcher", f"stopped in {time.monotonic() - started:.1f} s")

    def _stop_stage(self, children: list[Child], until: str, limit_s: float | None) -> None:
        running = [child for child in children if child.process.poll() is None]
        if not running:
            return
        names = ", ".join(child.part for child in running)
        started = time.monotonic()
        if not self._hurry.is_set():
            for child in running:
                child.process.send_signal(signal.SIGTERM)
            self.say("launcher", f"stopping {names}: waiting until {until} (Ctrl-C again stops it at once)")
        note_at = started + _STILL_WAITING_EVERY_S
        while any(child.process.poll() is None for child in running):
            waited = time.monotonic() - started
            if self._hurry.is_set() or (limit_s is not None and waited > limit_s):
                why = (
                    f"{self._hurried_by} again"
                    if self._hurry.is_set()
                    else f"still running after {waited:.0f} s"
                )
                self.say("launcher", f"{why}: killing {names}")
                for child in running:
                    child.process.kill()
                break
            if time.monotonic() >= note_at:
                self.say("launcher", f"still waiting for {names} ({waited:.0f} s)")
                note_at += _STILL_WAITING_EVERY_S
            time.sleep(0.1)
        for child in running:
            child.process.wait()
            child.pump.join(timeout=2)
        self.say("launcher", f"{names} stopped after {time.monotonic() - started:.1f} s")

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
                child.process, child.pump = self._popen(child.part, child.argv, child.env)
            time.sleep(0.5)


# When the first Ctrl-C (or SIGTERM) came; see Platform.hurry.
_first_interrupt_at = float("-inf")
_SAME_KEYPRESS_S = 0.5


def _interrupt(signum: int, frame: object) -> None:
    global _first_interrupt_at
    _first_interrupt_at = time.monotonic()
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
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    failed = True
    try:
        platform.start()
        platform.wait()  # returns only when a service keeps crashing
    except KeyboardInterrupt:
        failed = False
        platform.say("launcher", "stopping")
    except StartError as exc:
        platform.say("launcher", f"could not start: {exc}")
    finally:
        # From here a second Ctrl-C (or SIGTERM) hurries the stop instead of abandoning it, so that
        # PostgreSQL and moto are never left running behind us.
        signal.signal(signal.SIGINT, platform.hurry)
        signal.signal(signal.SIGTERM, platform.hurry)
        platform.stop()
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
