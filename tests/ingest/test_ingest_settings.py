"""Ingest settings: the shared sections and ANB_INGEST_* from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from anb_ingest.settings import IngestSettings


def test_reads_sections_and_own_options_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANB_UPLOAD_MAX_BYTES", "600000000")
    monkeypatch.setenv("ANB_INGEST_PARTS_IN_FLIGHT", "2")
    monkeypatch.setenv("ANB_INGEST_TEMP_DIR", "/var/tmp/spool")
    monkeypatch.setenv("ANB_INGEST_RELAY_INTERVAL_S", "0.5")
    monkeypatch.setenv("ANB_AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    settings = IngestSettings()
    assert settings.upload.max_bytes == 600_000_000
    assert settings.ingest.parts_in_flight == 2
    assert settings.ingest.temp_dir == Path("/var/tmp/spool")
    assert settings.ingest.relay_interval_s == 0.5
    assert settings.queue_aws() is settings.aws


def test_sqs_endpoint_overrides_only_sqs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANB_AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("ANB_INGEST_SQS_ENDPOINT_URL", "http://127.0.0.1:5001")
    settings = IngestSettings()
    assert settings.aws.endpoint_url == "http://127.0.0.1:5000"
    assert settings.queue_aws().endpoint_url == "http://127.0.0.1:5001"
    assert settings.queue_aws().queue_name == settings.aws.queue_name
