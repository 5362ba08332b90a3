"""Transcoder settings: the shared sections, the output format (``ANB_PROCESSING_*``) and the worker's
own (``ANB_WORKER_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings

from anb_common.settings import ServiceSettings, section


class ProcessingSettings(BaseSettings):
    model_config = section("ANB_PROCESSING_")

    max_output_s: float = 30.0
    """Footage kept from the start of each clip, in seconds."""
    width: int = 1280
    """Output width in pixels."""
    height: int = 720
    """Output height in pixels."""
    max_fps: int = 30
    """Frame-rate cap of the output; sources above it are resampled down."""
    card_s: float = 2.5
    """Length of each of the intro and outro cards (together at most 5 s)."""
    preset: str = "veryfast"
    """x264 preset: slower presets shrink files and cost CPU time."""
    crf: int = 23
    """x264 constant rate factor: lower is better quality and bigger files."""
    temp_dir: Path = Path("/tmp/anb-temp")  # noqa: S108 - a per-job subfolder is created and removed
    """Where each job gets its own working folder."""
    max_pixels: int = Field(default=4096 * 4096, gt=0)
    """Largest picture (width x height) the decoder allocates; ingest takes at most 4096 px a side."""
    max_decoded_fps: float = Field(default=240.0, gt=0)
    """Pictures a job decodes per second of kept footage at most (ingest allows 120 fps); more fails it."""
    max_transcode_s: float = Field(default=180.0, gt=0)
    """Wall time one transcode may take (30 s of 1080p takes 5-20 s on two cores); past it the video fails."""


class WorkerOptions(BaseSettings):
    model_config = section("ANB_WORKER_")

    concurrency: int = Field(default=1, ge=1)
    """Jobs run at once per process: 1, because a transcode already keeps every core busy."""
    wait_time_s: int = Field(default=20, ge=0, le=20)
    """SQS long-polling wait: 20 s (the maximum) keeps an idle worker to three requests a minute."""
    visibility_timeout_s: int = Field(default=300, ge=2, le=43_200)
    """How long a received job stays hidden; the heartbeat renews it while the job runs."""
    grace_s: float = Field(default=240.0, ge=0)
    """On SIGTERM, how long the running job may take to finish before it is cancelled and handed back."""
    retry_base_s: int = Field(default=10, ge=0)
    """Delay before a job that failed transiently comes back, doubled on each further receive."""
    retry_cap_s: int = Field(default=300, ge=0, le=43_200)
    """Longest retry delay, so that a recovered dependency is used again within minutes."""
    progress_interval_s: float = Field(default=2.0, gt=0)
    """Shortest interval between two progress writes of one job, to spare the database."""
    dlq_sweep_interval_s: float = Field(default=60.0, gt=0)
    """How often the dead-letter queue is checked for videos to mark failed."""
    dlq_hold_s: int = Field(default=43_200, ge=0, le=43_200)
    """How long a swept dead-letter message stays hidden, so each sweep sees only new ones."""
    asg_protection: bool = False
    """Protect this EC2 instance from scale-in while a job runs (needs IMDS and the IAM permission)."""
    imds_url: str = "http://169.254.169.254"
    """Instance metadata service (IMDSv2) that names this instance for scale-in protection."""


class WorkerSettings(ServiceSettings):
    processing: ProcessingSettings = Field(default_factory=ProcessingSettings)
    """Output format and the temp folder (ANB_PROCESSING_*)."""
    worker: WorkerOptions = Field(default_factory=WorkerOptions)
    """Queue consumption, heartbeat, retries and shutdown (ANB_WORKER_*)."""

    @property
    def heartbeat_s(self) -> float:
        """Renew visibility every third of the timeout: two renewals may fail before the job reappears."""
        return self.worker.visibility_timeout_s / 3
