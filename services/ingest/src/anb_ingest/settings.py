"""Ingest settings: the shared sections plus the service's own (``ANB_INGEST_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings

from anb_common.settings import AwsSettings, SecuritySettings, ServiceSettings, UploadLimits, section


class IngestOptions(BaseSettings):
    model_config = section("ANB_INGEST_")

    temp_dir: Path = Path("/tmp/anb-ingest")  # noqa: S108 - a per-upload subfolder is created and removed
    """Where each upload spools its local copy for probing (one subfolder per upload, always removed)."""
    recovery_interval_s: float = Field(default=30.0, gt=0)
    """How often interrupted uploads whose cleanup failed (storage was down) are tried again."""
    stale_spool_s: float = Field(default=24 * 3600, gt=0)
    """Age past which a spool folder is an interrupted upload's leftover even if a process with its
    owner's pid is alive (pids are reused); a day, like the bucket's rule for incomplete multipart
    uploads."""
    part_size_bytes: int = Field(default=8 * 1024 * 1024, ge=1)
    """S3 multipart part size (raised to S3's 5 MiB minimum): bigger parts mean fewer requests."""
    parts_in_flight: int = Field(default=4, ge=1)
    """Parts uploaded concurrently: more hides latency; parts are read from the spool, not memory."""
    max_field_bytes: int = Field(default=16 * 1024, ge=1024)
    """Largest non-file form field: a 200-character title needs at most 800 bytes of UTF-8."""
    publish_timeout_s: float = Field(default=2.0, gt=0)
    """Connect/read timeout of the publish tried before answering; the outbox relay covers a miss,
    so the player does not wait on a slow queue."""
    relay_interval_s: float = Field(default=2.0, gt=0)
    """How often the outbox relay looks for messages the upload path could not publish."""
    relay_grace_s: float = Field(default=10.0, ge=0)
    """Age a pending message must reach before the relay takes it: younger ones are still being
    published by the upload that wrote them."""
    relay_batch: int = Field(default=50, ge=1, le=500)
    """Messages the relay locks and publishes per database transaction."""
    relay_backoff_cap_s: float = Field(default=30.0, gt=0)
    """Longest pause between relay attempts while the queue keeps failing (doubles from the interval)."""
    body_min_bytes_per_s: int = Field(default=16 * 1024, ge=1)
    """Slowest average rate an upload body may arrive at once body_grace_s has passed (408 below it):
    128 kbit/s lets a weak mobile link through, while a trickle cannot hold a multipart upload and a
    spool folder for hours."""
    body_grace_s: float = Field(default=30.0, ge=0)
    """Time a body may take on top of what the minimum rate allows (connection set-up, a stall)."""
    probe_workers: int = Field(default=2, ge=1)
    """Uploads probed at once, each in a child process: more validate in parallel, and each adds up
    to probe_memory_bytes to ingest's memory (the unit's MemoryMax must hold them all)."""
    probe_memory_bytes: int = Field(default=96 * 1024 * 1024, ge=16 * 1024 * 1024)
    """Address space a probe may add to the fork server's: a 4096x4096 10-bit HEVC picture needs
    about 70 MB; a file that needs more is refused as undecodable."""
    probe_timeout_s: float = Field(default=30.0, gt=0)
    """Longest a probe runs before its process is killed and the upload refused: a real clip takes
    well under a second, so only a hostile or pathological file comes near."""
    sqs_endpoint_url: str | None = None
    """SQS endpoint when it differs from ANB_AWS_ENDPOINT_URL (e.g. a separate interface endpoint);
    unset means the shared one."""
    tus_expiry_s: float = Field(default=24 * 3600, gt=0)
    """How long a resumable upload may take from its creation before it is removed: a day, like
    the bucket's rule that aborts multipart uploads a day old (its backstop)."""
    tus_max_in_progress: int = Field(default=3, ge=1)
    """Resumable uploads one player may have in progress (created, not finished or expired); one
    more gets 429, so that nobody piles up parts and tails in storage."""
    tus_lease_s: float = Field(default=20.0, gt=0)
    """How long a PATCH's hold on its upload lasts unless renewed (a third of it): shorter frees a
    crashed writer's upload sooner, longer survives a slower database."""
    tus_sweep_interval_s: float = Field(default=60.0, gt=0)
    """How often expired resumable uploads are looked for and removed."""
    tus_copy_idle_s: float = Field(default=1800.0, gt=0)
    """How long this host keeps its local copy of a resumable upload nobody writes here (the client
    paused, or went on with another host): kept, the last PATCH validates it without reading the
    file back from S3; dropped, it frees up to 100 MB of disk and the upload is read back instead."""


class IngestSettings(ServiceSettings):
    upload: UploadLimits = Field(default_factory=UploadLimits)
    """Upload limits (ANB_UPLOAD_*)."""
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    """Secrets and dev mode (ANB_DEV_MODE, ANB_INTERNAL_SECRET)."""
    ingest: IngestOptions = Field(default_factory=IngestOptions)
    """Spooling, multipart tuning, form limits and the outbox relay (ANB_INGEST_*)."""

    def queue_aws(self) -> AwsSettings:
        """AWS settings for SQS: the shared ones, with the SQS-only endpoint when one is set."""
        if self.ingest.sqs_endpoint_url is None:
            return self.aws
        return self.aws.model_copy(update={"endpoint_url": self.ingest.sqs_endpoint_url})
