from __future__ import annotations

import json
import logging

import pytest

from anb_common import logs


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
