"""deploy/bootstrap/anb_logship.py, the hosts' log shipper (anb-logship.service): each unit's journal
lines reach its CloudWatch Logs group (moto) in the instance's stream, systemd's own lines about the
unit too, other units' never; SIGTERM ships what is left; a restart resumes after its cursor without
sending a line twice. journalctl is a stand-in that serves a journal file as journalctl's JSON does
(matches OR-ed by "+", --after-cursor, --follow)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from .support import DEPLOY
from .test_release_boot import INSTANCE, _Aws

JOURNALCTL = """\
#!/usr/bin/env python3
import json, os, sys, time
args = sys.argv[1:]
with open(os.environ["FAKE_JOURNAL_ARGS"], "a") as log:
    log.write(json.dumps(args) + "\\n")
with open(os.environ["FAKE_JOURNAL"]) as journal:
    entries = [json.loads(line) for line in journal.read().splitlines()]
if "--lines=1" in args:  # the newest entry
    print(json.dumps(entries[-1]))
    sys.exit(0)
assert "--lines=all" in args, args
follow = "--follow" in args
after = next((a.split("=", 1)[1] for a in args if a.startswith("--after-cursor=")), None)
boot = next(a.split("=", 1)[1] for a in args if a.startswith("--boot="))
terms = [a for a in args if not a.startswith("-")]
groups, current = [], []
for term in terms:
    if term == "+":
        groups.append(current)
        current = []
    else:
        current.append(term.split("=", 1))
groups.append(current)

def wanted(entry):
    matches = any(all(entry.get(k) == v for k, v in group) for group in groups if group)
    return matches and entry["_BOOT_ID"] == boot

seen = 0
skipping = after is not None
while True:
    with open(os.environ["FAKE_JOURNAL"]) as journal:
        lines = journal.read().splitlines()
    for line in lines[seen:]:
        entry = json.loads(line)
        if skipping:
            skipping = entry["__CURSOR"] != after
            continue
        if wanted(entry):
            print(line, flush=True)
    seen = len(lines)
    if not follow:
        break
    time.sleep(0.1)
"""


@pytest.fixture
def imds() -> Iterator[str]:
    """test_release_boot's stand-in (IMDSv2 with the instance's id, and S3 this test does not use)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Aws)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.boot = "b0"
        path.write_text("")

    def add(self, unit: str, message: str, *, systemd: bool = False) -> None:
        """A line of UNIT's own output, or (systemd) PID 1's line about UNIT."""
        self.count += 1
        entry = {
            "__CURSOR": f"s=1;i={self.count}",
            "_BOOT_ID": self.boot,
            "__REALTIME_TIMESTAMP": str(time.time_ns() // 1000),
            "MESSAGE": message,
            **({"_SYSTEMD_UNIT": "init.scope", "UNIT": unit} if systemd else {"_SYSTEMD_UNIT": unit}),
        }
        with self.path.open("a") as out:
            out.write(json.dumps(entry) + "\n")


def _logs(moto_url: str) -> Any:
    return boto3.client(
        "logs",
        endpoint_url=moto_url,
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _shipped(logs: Any, group: str) -> list[str]:
    try:
        events = logs.get_log_events(logGroupName=group, logStreamName=INSTANCE, startFromHead=True)
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [event["message"] for event in events["events"]]


def _wait(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the deadline"
        time.sleep(0.2)


def test_each_units_lines_reach_its_group_once_across_restarts(
    moto_url: str, imds: str, tmp_path: Path
) -> None:
    logs = _logs(moto_url)
    prefix = f"/anb/logship-{uuid.uuid4().hex[:8]}"
    service, boot = f"{prefix}/gateway", f"{prefix}/bootstrap"
    for group in (service, boot):
        logs.create_log_group(logGroupName=group)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "journalctl").write_text(JOURNALCTL)
    (bin_dir / "journalctl").chmod(0o755)
    journal = Journal(tmp_path / "journal.jsonl")
    journal.add("anb-gateway.service", '{"event": "a line of the previous boot"}')
    journal.boot = "b1"
    journal.add("cloud-final.service", "anb-bootstrap: first line of the boot")
    journal.add("anb-gateway.service", '{"event": "started", "level": "info"}')
    journal.add("anb-gateway.service", "Started anb-gateway.service", systemd=True)
    journal.add("ssh.service", "not ours")
    runtime = tmp_path / "run"
    runtime.mkdir()
    env = {
        "PATH": f"{bin_dir}:/usr/bin:/bin",
        "ANB_REGION": "eu-west-1",
        "ANB_LOGSHIP_ROUTES": f"anb-gateway.service={service} cloud-final.service={boot}",
        "RUNTIME_DIRECTORY": str(runtime),
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds,
        "FAKE_JOURNAL": str(journal.path),
        "FAKE_JOURNAL_ARGS": str(tmp_path / "journalctl-args.jsonl"),
    }

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            [str(DEPLOY / "bootstrap/anb_logship.py")], env=env, stderr=subprocess.PIPE, text=True
        )

    shipper = start()
    try:
        _wait(lambda: len(_shipped(logs, service)) == 2)
        assert _shipped(logs, service) == [
            '{"event": "started", "level": "info"}',
            "Started anb-gateway.service",
        ]
        assert _shipped(logs, boot) == ["anb-bootstrap: first line of the boot"]
        # Written just before the stop: SIGTERM ships it before the shipper exits.
        journal.add("anb-gateway.service", '{"event": "stopping"}')
    finally:
        _stop(shipper)
    assert _shipped(logs, service)[-1] == '{"event": "stopping"}'
    assert (runtime / "cursor").read_text() == "s=1;i=6"

    journal.add("anb-gateway.service", '{"event": "after the restart"}')
    shipper = start()
    try:
        _wait(lambda: len(_shipped(logs, service)) == 4)
    finally:
        _stop(shipper)
    assert _shipped(logs, service) == [
        '{"event": "started", "level": "info"}',
        "Started anb-gateway.service",
        '{"event": "stopping"}',
        '{"event": "after the restart"}',
    ]
    assert all("not ours" not in line for line in _shipped(logs, service) + _shipped(logs, boot))
    calls = [json.loads(line) for line in (tmp_path / "journalctl-args.jsonl").read_text().splitlines()]
    assert [call for call in calls if "--lines=1" not in call and "--boot=b1" not in call] == []
    assert "--after-cursor=s=1;i=6" in calls[-1] or "--after-cursor=s=1;i=6" in calls[-2]


def _stop(shipper: subprocess.Popen[str]) -> None:
    """SIGTERM, as systemd stops the unit: the shipper sends what is left and exits 0."""
    shipper.send_signal(signal.SIGTERM)
    try:
        _out, err = shipper.communicate(timeout=60)
    finally:
        if shipper.poll() is None:
            shipper.kill()
    assert shipper.returncode == 0, err


def _load_shipper() -> ModuleType:
    """anb_logship.py as a module (it imports anb_boot from its folder); no bytecode left in deploy/."""
    sys.path.insert(0, str(DEPLOY / "bootstrap"))
    sys.dont_write_bytecode, before = True, sys.dont_write_bytecode
    try:
        spec = importlib.util.spec_from_file_location("anb_logship", DEPLOY / "bootstrap/anb_logship.py")
        assert spec
        assert spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["anb_logship"] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(DEPLOY / "bootstrap"))
        sys.dont_write_bytecode = before


def test_a_call_stays_within_cloudwatch_limits() -> None:
    shipper = _load_shipper()
    batch = shipper.Batch()
    big = {"timestamp": 1, "message": "x" * 200_000}
    taken = 0
    while batch.fits(big):
        batch.add(big)
        taken += 1
    assert taken == 5  # 5 x (200,000 + 26) bytes fit in 1,048,576; a sixth would not
    huge = shipper.event_of({"__REALTIME_TIMESTAMP": "5000", "MESSAGE": "é" * 300_000})
    assert huge["timestamp"] == 5
    assert len(huge["message"].encode()) <= shipper.MAX_MESSAGE_BYTES
    assert (
        shipper.event_of({"__REALTIME_TIMESTAMP": "5000", "MESSAGE": [104, 105, 255]})["message"]
        == "hi\ufffd"
    )
    assert shipper.event_of({"__REALTIME_TIMESTAMP": "5000", "MESSAGE": None}) is None
    day = shipper.Batch()
    day.add({"timestamp": 0, "message": "a"})
    assert not day.fits({"timestamp": 24 * 3600 * 1000, "message": "b"})
    with pytest.raises(ValueError, match="UNIT=GROUP"):
        shipper.parse_routes("anb-gateway.service")
    assert os.access(DEPLOY / "bootstrap/anb_logship.py", os.X_OK)
