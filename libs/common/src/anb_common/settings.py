"""Typed settings read from ``ANB_*`` environment variables.

Each concern is one section with its own prefix; a service composes the sections it needs into
one settings object (see each service's ``settings.py``). Defaults are those of the embedded
platform that ``make run`` starts, so that a developer sets nothing; production sets the variables.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def section(prefix: str) -> SettingsConfigDict:
    """The config of one section: its own ``prefix``, each field documented by its docstring (the
    README's table is generated from them), unknown variables ignored, frozen once read."""
    return SettingsConfigDict(env_prefix=prefix, use_attribute_docstrings=True, extra="ignore", frozen=True)


class DatabaseSettings(BaseSettings):
    model_config = section("ANB_DB_")

    url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/anb"
    """SQLAlchemy URL of PostgreSQL (asyncpg driver); the embedded server listens on 127.0.0.1:5432."""
    pool_size: int = 10
    """Connections kept open per process: more serves bursts, each costs a server backend."""
    max_overflow: int = 10
    """Extra connections allowed past the pool under load before callers wait."""
    pool_timeout_s: float = 10.0
    """How long a caller waits for a pooled connection before failing rather than hanging."""
    statement_timeout_ms: int = 15_000
    """Server-side cap on one statement, so a stuck query cannot hold a connection forever."""
    ssl_root_cert: Path | None = None
    """CA bundle the server's certificate must chain to (TLS required, host name checked); unset
    connects without verifying (the embedded server on loopback)."""


class AwsSettings(BaseSettings):
    model_config = section("ANB_AWS_")

    region: str = "us-east-1"
    """AWS region of the bucket and queues."""
    endpoint_url: str | None = "http://127.0.0.1:5000"
    """S3/SQS endpoint override (moto locally); set it empty to use real AWS endpoints."""
    public_endpoint_url: str | None = None
    """Endpoint written into presigned links when clients reach storage by another address."""
    access_key_id: SecretStr | None = SecretStr("testing")
    """Static key for the local endpoint; leave empty on AWS so the instance role is used."""
    secret_access_key: SecretStr | None = SecretStr("testing")
    """Static secret for the local endpoint; leave empty on AWS so the instance role is used."""
    bucket: str = "anb-video-storage"
    """Bucket holding uploads/, processed/ and resources/."""
    queue_name: str = "processing-queue"
    """SQS queue of processing jobs."""
    dlq_name: str = "processing-queue-dlq"
    """Dead-letter queue that receives jobs after repeated failed receives."""
    connect_timeout_s: float = 5.0
    """TCP connect timeout: short, because a reachable endpoint answers in milliseconds."""
    read_timeout_s: float = 60.0
    """Read timeout: longer than SQS long polling (20 s) and an 8 MiB part upload on a slow link."""
    max_attempts: int = 4
    """Botocore attempts per call (adaptive mode) before an error reaches our code."""


class UploadLimits(BaseSettings):
    model_config = section("ANB_UPLOAD_")

    max_bytes: int = 100 * 1000 * 1000
    """Largest accepted upload (100 MB): bigger files cost storage and transcode time."""
    min_duration_s: float = 20.0
    """Shortest accepted clip in seconds."""
    max_duration_s: float = 60.0
    """Longest accepted clip in seconds."""
    min_short_side_px: int = 1080
    """Smallest accepted shorter side, so that every source is at least 1080p."""
    max_long_side_px: int = 4096
    """Largest accepted longer side: 4K phones pass, absurd declared sizes cannot tie up a worker."""
    form_overhead_bytes: int = 1024 * 1024
    """Allowance for multipart form framing and the title on top of the file limit."""


class SecuritySettings(BaseSettings):
    model_config = section("ANB_")

    dev_mode: bool = True
    """Embedded-platform mode: allows generated secrets; production sets it false."""
    jwt_secret: SecretStr | None = None
    """HS256 key for user tokens (>= 32 bytes); required outside dev mode."""
    internal_secret: SecretStr | None = None
    """HS256 key for the gateway-to-ingest identity token (>= 32 bytes); required outside dev mode."""
    devdata_dir: Path = Path(".devdata")
    """Where dev mode keeps its generated secrets (git-ignored)."""


class MetricsSettings(BaseSettings):
    model_config = section("ANB_METRICS_")

    publish: bool = False
    """Send the ANB/Video figures to CloudWatch (PutMetricData); off, they are counted and dropped."""
    interval_s: float = Field(default=60.0, gt=0)
    """Seconds each batch of figures covers, one PutMetricData call each: 60 is CloudWatch's own
    resolution, shorter only shows figures sooner (tests, make run)."""


class ServiceSettings(BaseSettings):
    """A service's whole configuration: the sections every service has; each adds its own."""

    model_config = SettingsConfigDict(env_prefix="ANB_", use_attribute_docstrings=True, extra="ignore")

    db: DatabaseSettings = Field(default_factory=DatabaseSettings)
    """Database connection (ANB_DB_*)."""
    aws: AwsSettings = Field(default_factory=AwsSettings)
    """S3/SQS endpoint and names (ANB_AWS_*)."""
    metrics: MetricsSettings = Field(default_factory=MetricsSettings)
    """Publishing the ANB/Video metrics to CloudWatch (ANB_METRICS_*)."""
    release: str = "dev"
    """Release this process runs, named in its health answers (the deployment writes it)."""
