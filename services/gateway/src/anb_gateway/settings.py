"""Gateway settings: the shared sections plus what only the public entry point needs."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from anb_common.settings import AwsSettings, DatabaseSettings, SecuritySettings, UploadLimits


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ANB_", use_attribute_docstrings=True, extra="ignore")

    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    """Database connection (ANB_DB_*)."""
    aws: AwsSettings = Field(default_factory=AwsSettings)
    """S3/SQS endpoint and names (ANB_AWS_*)."""
    upload: UploadLimits = Field(default_factory=UploadLimits)
    """Upload limits (ANB_UPLOAD_*)."""
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    """Secrets and dev mode (ANB_DEV_MODE, ANB_JWT_SECRET, ANB_INTERNAL_SECRET)."""
    ingest_url: str = "http://127.0.0.1:8001"
    """Base URL of the internal ingest service that uploads are streamed to."""
