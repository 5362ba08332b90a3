from __future__ import annotations

import pytest
from pydantic_settings import BaseSettings

from anb_common.settings import (
    AwsSettings,
    DatabaseSettings,
    SecuritySettings,
    UploadLimits,
)

SECTIONS: list[type[BaseSettings]] = [
    DatabaseSettings,
    AwsSettings,
    UploadLimits,
    SecuritySettings,
]


def test_defaults_are_the_embedded_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("ANB_"):
            monkeypatch.delenv(name)
    assert DatabaseSettings().url == "postgresql+asyncpg://postgres@127.0.0.1:5432/anb"
    aws = AwsSettings()
    assert aws.endpoint_url == "http://127.0.0.1:5000"
    assert (aws.bucket, aws.queue_name, aws.dlq_name) == (
        "anb-video-storage",
        "processing-queue",
        "processing-queue-dlq",
    )
    limits = UploadLimits()
    assert limits.max_bytes == 100_000_000
    assert (limits.min_duration_s, limits.max_duration_s, limits.min_short_side_px) == (20, 60, 1080)
    assert SecuritySettings().dev_mode is True


def test_values_come_from_anb_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANB_DB_URL", "postgresql+asyncpg://u@db.internal:5432/anb")
    monkeypatch.setenv("ANB_AWS_ENDPOINT_URL", "")
    monkeypatch.setenv("ANB_AWS_BUCKET", "prod-bucket")
    monkeypatch.setenv("ANB_UPLOAD_MAX_BYTES", "5000")
    monkeypatch.setenv("ANB_DEV_MODE", "false")
    monkeypatch.setenv("ANB_JWT_SECRET", "s" * 40)
    assert DatabaseSettings().url == "postgresql+asyncpg://u@db.internal:5432/anb"
    aws = AwsSettings()
    assert aws.endpoint_url in (None, "")
    assert aws.bucket == "prod-bucket"
    assert UploadLimits().max_bytes == 5000
    security = SecuritySettings()
    assert security.dev_mode is False
    assert security.jwt_secret is not None
    assert security.jwt_secret.get_secret_value() == "s" * 40
    # Secrets never show in a repr (and so never in a log line that prints settings).
    assert "s" * 40 not in repr(security)


def test_bad_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANB_UPLOAD_MAX_BYTES", "lots")
    with pytest.raises(ValueError, match="max_bytes"):
        UploadLimits()


@pytest.mark.parametrize("section", SECTIONS)
def test_every_field_has_a_docstring(section: type[BaseSettings]) -> None:
    for name, field in section.model_fields.items():
        assert field.description, f"{section.__name__}.{name} has no one-line docstring"
