#!/usr/bin/python3 -sEB
"""Ship this host's journal to CloudWatch Logs: what the CloudWatch agent would do, with the standard
library only (the agent has no Debian package, and an instance downloads nothing at boot).

Run by anb-logship.service (deploy/systemd), as its own user in the systemd-journal group:

    ANB_REGION            the stack's region
    ANB_LOGSHIP_ROUTES    UNIT=GROUP ...: the journal of each systemd unit goes to that log group
    RUNTIME_DIRECTORY     where the journal cursor of the last shipped line is kept (set by systemd)

It follows ``journalctl --boot --output=json`` for those units, from the cursor when there is one (a
restart), else from the start of this boot (so the lines logged before it started, the bootstrap's
first ones included, are shipped too), and puts each unit's lines into its group with
``PutLogEvents``, one stream per instance (the instance id), signed by anb_boot.py with the
instance role's credentials. The cursor moves only once every group accepted its lines: a failure
retries the same lines (at least once, never lost while the host runs). SIGTERM ships what is left
and exits; the unit stops after the services, so their last lines go too.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anb_boot

FLUSH_S = 2.0
"""Lines wait at most this long on the host before they are sent."""
CREDENTIALS_S = 300.0
"""Instance credentials are fetched again this often (EC2 rotates them well before they expire)."""
RETRY_S = 5.0
# PutLogEvents limits: 10,000 events and 1,048,576 bytes per call (each event's UTF-8 message plus 26
# bytes), events of one call within 24 hours of each other, 256 KiB per event.
MAX_EVENTS = 10_000
MAX_BYTES = 1_048_576
EVENT_OVERHEAD = 26
MAX_MESSAGE_BYTES = 256 * 1024 - EVENT_OVERHEAD
MAX_SPAN_MS = 23 * 3600 * 1000
_JSON = "application/x-amz-json-1.1"


def say(message: str) -> None:
    print(f"anb-logship: {message}", file=sys.stderr, flush=True)


def parse_routes(text: str) -> dict[str, str]:
    routes = {}
    for item in text.split():
        unit, _, group = item.partition("=")
        if not unit or not group:
            raise ValueError(f"ANB_LOGSHIP_ROUTES: {item!r} is not UNIT=GROUP")
        routes[unit] = group
    if not routes:
        raise ValueError("ANB_LOGSHIP_ROUTES names no unit")
    return routes


def event_of(entry: dict[str, Any]) -> dict[str, Any] | None:
    """A journal entry (journalctl's JSON) as a CloudWatch Logs event, or None when it has no text."""
    message = entry.get("MESSAGE")
    if isinstance(message, list):  # not valid UTF-8: journalctl gives the bytes
        message = bytes(message).decode("utf-8", errors="replace")
    if not isinstance(message, str) or not message:
        return None
    data = message.encode()
    if len(data) > MAX_MESSAGE_BYTES:
        message = data[:MAX_MESSAGE_BYTES].decode("utf-8", errors="ignore")
    return {"timestamp": int(entry["__REALTIME_TIMESTAMP"]) // 1000, "message": message}


@dataclass
class Batch:
    events: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0

    def fits(self, event: dict[str, Any]) -> bool:
        if not self.events:
            return True
        first = min(e["timestamp"] for e in self.events)
        return (
            len(self.events) < MAX_EVENTS
            and self.size + len(event["message"].encode()) + EVENT_OVERHEAD <= MAX_BYTES
            and abs(event["timestamp"] - first) <= MAX_SPAN_MS
        )

    def add(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self.size += len(event["message"].encode()) + EVENT_OVERHEAD


class CloudWatchLogs:
    def __init__(self, region: str) -> None:
        self.region = region
        self._aws: anb_boot.Aws | None = None
        self._fetched = 0.0

    @property
    def aws(self) -> anb_boot.Aws:
        if self._aws is None or time.monotonic() - self._fetched > CREDENTIALS_S:
            self._aws = anb_boot.Aws(self.region, anb_boot.credentials())
            self._fetched = time.monotonic()
        return self._aws

    def call(self, action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        aws = self.aws
        headers = {"content-type": _JSON, "x-amz-target": f"Logs_20140328.{action}"}
        status, answer = aws.request(
            "logs", "POST", aws.api_url("logs"), json.dumps(body).encode(), headers, ok=(200, 400)
        )
        return status, json.loads(answer or b"{}")

    def create_stream(self, group: str, stream: str) -> None:
        status, answer = self.call("CreateLogStream", {"logGroupName": group, "logStreamName": stream})
        if status != 200 and not str(answer.get("__type", "")).endswith("ResourceAlreadyExistsException"):
            raise anb_boot.BootError(f"CreateLogStream {group} {stream}: {answer}")

    def put(self, group: str, stream: str, events: list[dict[str, Any]]) -> None:
        body = {
            "logGroupName": group,
            "logStreamName": stream,
            # Chronological within a call, as CloudWatch requires; the journal interleaves units.
            "logEvents": sorted(events, key=lambda e: e["timestamp"]),
        }
        status, answer = self.call("PutLogEvents", body)
        if status != 200 and str(answer.get("__type", "")).endswith("ResourceNotFoundException"):
            self.create_stream(group, stream)
            status, answer = self.call("PutLogEvents", body)
        if status == 200:
            # Lines older than the group's retention (or than 14 days) or over 2 hours ahead are
            # refused one by one and would be refused again: said, not retried.
            if answer.get("rejectedLogEventsInfo"):
                say(f"{group} refused some lines: {answer['rejectedLogEventsInfo']}")
            return
        # Expired credentials are fetched again on the next attempt.
        self._aws = None
        raise anb_boot.BootError(f"PutLogEvents {group}: {answer}")


class Shipper:
    def __init__(self, logs: CloudWatchLogs, routes: dict[str, str], stream: str, cursor_file: Path) -> None:
        self.logs = logs
        self.routes = routes
        self.stream = stream
        self.cursor_file = cursor_file
        self.stopping = threading.Event()
        # Bounded: while CloudWatch does not answer, journalctl waits on its pipe instead of the lines
        # piling up in this process's memory (the journal keeps them).
        self.lines: queue.Queue[bytes | None] = queue.Queue(maxsize=MAX_EVENTS)
        self.pending: dict[str, Batch] = {}
        self.pending_cursor: str | None = None
        self.reader_done = False
        self.boot = ""

    @staticmethod
    def current_boot() -> str:
        """This boot's id, as the journal stamps it: that of its newest entry (this unit's own start,
        at the latest). Not /proc's boot_id, which a sandbox with ProtectKernelTunables= may see
        differently from journald (in a container, where nspawn overlays it)."""
        newest = subprocess.run(
            ["journalctl", "--lines=1", "--output=json", "--no-pager", "--quiet"],
            stdout=subprocess.PIPE,
            check=True,
        ).stdout
        try:
            boot = str(json.loads(newest.splitlines()[-1])["_BOOT_ID"])
        except (ValueError, IndexError, KeyError):
            raise anb_boot.BootError("the journal has no entry to tell this boot by") from None
        return boot

    def journalctl(self, follow: bool, cursor: str | None) -> list[str]:
        # --lines=all: --follow alone would start at the last 10 lines.
        command = [
            "journalctl",
            f"--boot={self.boot}",
            "--lines=all",
            "--output=json",
            "--no-pager",
            "--quiet",
        ]
        if follow:
            command.append("--follow")
        if cursor:
            command.append(f"--after-cursor={cursor}")
        # A unit's own output, and what systemd says about it (started, restarted, killed by the OOM
        # killer: UNIT= on PID 1's lines), OR-ed with "+".
        matches: list[str] = []
        for unit in self.routes:
            matches += [*(["+"] if matches else []), f"_SYSTEMD_UNIT={unit}", "+", f"UNIT={unit}"]
        return command + matches

    def cursor(self) -> str | None:
        try:
            return self.cursor_file.read_text().strip() or None
        except FileNotFoundError:
            return None

    def save_cursor(self, cursor: str) -> None:
        staged = self.cursor_file.with_suffix(".partial")
        staged.write_text(cursor)
        staged.replace(self.cursor_file)

    def take(self, line: bytes) -> None:
        """One journal line into its group's batch, sending what is full first."""
        try:
            entry = json.loads(line)
        except ValueError:
            return
        group = self.routes.get(entry.get("_SYSTEMD_UNIT", "")) or self.routes.get(entry.get("UNIT", ""))
        event = event_of(entry) if group else None
        if group and event:
            batch = self.pending.setdefault(group, Batch())
            if not batch.fits(event):
                self.flush()
                batch = self.pending.setdefault(group, Batch())
            batch.add(event)
        self.pending_cursor = entry.get("__CURSOR") or self.pending_cursor

    def flush(self) -> None:
        """Send every group's batch until each is accepted; only then is the cursor saved."""
        while self.pending:
            for group in list(self.pending):
                try:
                    self.logs.put(group, self.stream, self.pending[group].events)
                    del self.pending[group]
                except anb_boot.BootError as exc:
                    say(f"{exc}; retrying in {RETRY_S:.0f} s")
            if self.pending:
                time.sleep(RETRY_S)
        if self.pending_cursor:
            self.save_cursor(self.pending_cursor)

    def _read(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def run(self) -> None:
        for group in sorted(set(self.routes.values())):
            self.logs.create_stream(group, self.stream)
        self.boot = self.current_boot()
        started = self.cursor()
        where = "after its cursor" if started else "from the start of this boot"
        say(f"shipping {', '.join(self.routes)} as stream {self.stream}, {where}")
        process = subprocess.Popen(self.journalctl(True, started), stdout=subprocess.PIPE)
        threading.Thread(target=self._read, args=(process,), daemon=True).start()
        deadline: float | None = None
        while not self.stopping.is_set():
            wait = 1.0 if deadline is None else min(1.0, max(0.0, deadline - time.monotonic()))
            try:
                line = self.lines.get(timeout=wait)
            except queue.Empty:
                line = b""
            if line is None:
                self.reader_done = True
                if self.stopping.is_set():
                    break
                raise anb_boot.BootError(f"journalctl exited with status {process.wait()}")
            if line:
                self.take(line)
                deadline = deadline or time.monotonic() + FLUSH_S
            if deadline is not None and time.monotonic() >= deadline:
                self.flush()
                deadline = None
        process.terminate()
        process.wait()
        # What journalctl had printed, then whatever the journal got since, then the last send.
        while not self.reader_done:
            line = self.lines.get()
            if line is None:
                self.reader_done = True
            else:
                self.take(line)
        rest = subprocess.run(
            self.journalctl(False, self.pending_cursor or started), stdout=subprocess.PIPE, check=True
        )
        for line in rest.stdout.splitlines():
            self.take(line)
        self.flush()
        say("stopped; every line shipped")


def main() -> int:
    try:
        routes = parse_routes(os.environ.get("ANB_LOGSHIP_ROUTES", ""))
        region = os.environ.get("ANB_REGION") or ""
        if not region:
            raise ValueError("ANB_REGION is not set")
        runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
        if not runtime:
            raise ValueError("RUNTIME_DIRECTORY is not set (RuntimeDirectory= in the unit)")
        stream = anb_boot.imds("latest/meta-data/instance-id")
        shipper = Shipper(CloudWatchLogs(region), routes, stream, Path(runtime) / "cursor")
        signal.signal(signal.SIGTERM, lambda *_: shipper.stopping.set())
        shipper.run()
    except (ValueError, anb_boot.BootError) as exc:
        say(str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
