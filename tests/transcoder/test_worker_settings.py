"""Worker settings: defaults of the issue, ANB_WORKER_* overrides, heartbeat at a third."""

from __future__ import annotations

import pytest

from anb_transcoder.settings import WorkerSettings


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
