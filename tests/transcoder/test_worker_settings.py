"""Worker settings: defaults of the issue, ANB_WORKER_* and ANB_PROCESSING_* overrides, heartbeat at a
third."""

from __future__ import annotations

from pathlib import Path

import pytest

from anb_transcoder.settings import ProcessingSettings, WorkerSettings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CONCURRENCY", "WAIT_TIME_S", "VISIBILITY_TIMEOUT_S", "GRACE_S", "ASG_PROTECTION"):
        monkeypatch.delenv(f"ANB_WORKER_{name}", raising=False)
    settings = WorkerSettings()
    assert settings.worker.concurrency == 1
    assert settings.worker.wait_time_s == 20
    assert settings.worker.visibility_timeout_s == 300
    assert settings.heartbeat_s == 100
    assert settings.worker.grace_s == 240
    assert settings.worker.asg_protection is False


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANB_WORKER_CONCURRENCY", "2")
    monkeypatch.setenv("ANB_WORKER_VISIBILITY_TIMEOUT_S", "30")
    monkeypatch.setenv("ANB_WORKER_ASG_PROTECTION", "true")
    monkeypatch.setenv("ANB_AWS_QUEUE_NAME", "other-queue")
    settings = WorkerSettings()
    assert settings.worker.concurrency == 2
    assert settings.heartbeat_s == 10
    assert settings.worker.asg_protection is True
    assert settings.aws.queue_name == "other-queue"


def test_nonsense_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANB_WORKER_CONCURRENCY", "0")
    with pytest.raises(ValueError, match="concurrency"):
        WorkerSettings()


def test_processing_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CRF", "TEMP_DIR"):
        monkeypatch.delenv(f"ANB_PROCESSING_{name}", raising=False)
    processing = WorkerSettings().processing
    assert processing.crf == 23
    assert processing.temp_dir == Path("/tmp/anb-temp")


def test_processing_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANB_PROCESSING_CRF", "20")
    monkeypatch.setenv("ANB_PROCESSING_MAX_OUTPUT_S", "12.5")
    monkeypatch.setenv("ANB_PROCESSING_TEMP_DIR", str(tmp_path))
    processing = WorkerSettings().processing
    assert (processing.crf, processing.max_output_s, processing.temp_dir) == (20, 12.5, tmp_path)
    # The section also loads on its own, as the benchmark and the tests build it.
    assert ProcessingSettings().crf == 20
