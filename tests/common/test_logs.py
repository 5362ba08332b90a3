from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from anb_common import logs


@pytest.fixture
def restored_root_logger() -> Iterator[None]:
    # logs.configure() replaces the root handlers; leaving its handler on pytest's captured stdout
    # would make every later test's log records fail to write once that capture is closed.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restored_root_logger")
def test_records_are_json_with_bound_ids(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("test")
    log = logging.getLogger("anb.test")
    with logs.bound(job_id="job-1"):
        log.info("working", extra={"video_id": "v-1"})
    log.info("outside")
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines()[-2:])
    assert first["msg"] == "working"
    assert first["job_id"] == "job-1"
    assert first["video_id"] == "v-1"
    assert first["service"] == "test"
    assert "job_id" not in second
