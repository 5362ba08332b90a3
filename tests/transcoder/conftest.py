"""Worker test fixtures: a fresh queue pair per test, seeded rows and originals, real clips, workers
started in-process or as real processes (``python -m anb_transcoder``) where signals matter."""

from __future__ import annotations

import json
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from workerkit import VISIBILITY_S, Queues, Seeder, WorkerProcesses

from anb_common.aws import Aws, queue_url
from anb_common.settings import AwsSettings, DatabaseSettings
from anb_devstack import brand, clips
from anb_devstack.provision import MAX_RECEIVE_COUNT
from anb_transcoder.settings import ProcessingSettings, WorkerOptions, WorkerSettings


@pytest.fixture(scope="session")
def clip_dir(session_tmp: Path) -> Path:
    path = session_tmp / "clips"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def small_clip(clip_dir: Path) -> Path:
    """Transcodes in about a second: for outcomes that do not depend on timing."""
    return clips.make_clip(clip_dir / "small.mp4", width=640, height=360, seconds=2.0, fps=10)


@pytest.fixture(scope="session")
def medium_clip(clip_dir: Path) -> Path:
    """Transcodes in a few seconds: long enough to signal or kill a worker in the middle of it."""
    return clips.make_clip(clip_dir / "medium.mp4", width=1920, height=1080, seconds=5.0, fps=30)


@pytest.fixture(scope="session")
def slow_clip(clip_dir: Path) -> Path:
    """Transcodes in several seconds (longer than two visibility timeouts): a job to interrupt."""
    return clips.make_clip(clip_dir / "slow.mp4", width=1920, height=1080, seconds=15.0, fps=30)


@pytest.fixture(scope="session")
async def brand_seeded(aws: Aws) -> None:
    async with aws.s3() as s3:
        for key, path in brand.seed_objects():
            await s3.put_object(
                Bucket=aws.settings.bucket, Key=key, Body=path.read_bytes(), ContentType="image/png"
            )


@pytest.fixture
async def queues(aws: Aws) -> Queues:
    suffix = uuid.uuid4().hex[:8]
    pair = Queues(aws, f"jobs-{suffix}", f"jobs-dlq-{suffix}")
    async with aws.sqs() as sqs:
        pair.dlq_url = (await sqs.create_queue(QueueName=pair.dlq_name))["QueueUrl"]
        arn = (await sqs.get_queue_attributes(QueueUrl=pair.dlq_url, AttributeNames=["QueueArn"]))[
            "Attributes"
        ]["QueueArn"]
        await sqs.create_queue(
            QueueName=pair.name,
            Attributes={
                "VisibilityTimeout": str(VISIBILITY_S),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
                ),
            },
        )
        pair.url = await queue_url(sqs, pair.name)
    return pair


@pytest.fixture
def temp_dir(tmp_path: Path) -> Path:
    return tmp_path / "anb-temp"


@pytest.fixture
def worker_settings(
    db_settings: DatabaseSettings,
    aws_settings: AwsSettings,
    queues: Queues,
    temp_dir: Path,
    brand_seeded: None,
) -> WorkerSettings:
    return WorkerSettings(
        db=db_settings,
        aws=aws_settings.model_copy(update={"queue_name": queues.name, "dlq_name": queues.dlq_name}),
        processing=ProcessingSettings(temp_dir=temp_dir),
        worker=WorkerOptions(
            wait_time_s=1,
            visibility_timeout_s=VISIBILITY_S,
            retry_base_s=0,
            progress_interval_s=0.2,
            dlq_sweep_interval_s=0.5,
            # Swept dead letters stay visible, so that a test can read them after the sweeper.
            dlq_hold_s=0,
        ),
    )


@pytest.fixture
def worker_env(service_env: dict[str, str], worker_settings: WorkerSettings) -> dict[str, str]:
    """The same configuration as ``worker_settings``, for a worker started as a process."""
    options = worker_settings.worker
    return {
        **service_env,
        "ANB_AWS_QUEUE_NAME": worker_settings.aws.queue_name,
        "ANB_AWS_DLQ_NAME": worker_settings.aws.dlq_name,
        "ANB_PROCESSING_TEMP_DIR": str(worker_settings.processing.temp_dir),
        "ANB_WORKER_WAIT_TIME_S": str(options.wait_time_s),
        "ANB_WORKER_VISIBILITY_TIMEOUT_S": str(options.visibility_timeout_s),
        "ANB_WORKER_RETRY_BASE_S": str(options.retry_base_s),
        "ANB_WORKER_PROGRESS_INTERVAL_S": str(options.progress_interval_s),
        "ANB_WORKER_DLQ_SWEEP_INTERVAL_S": str(options.dlq_sweep_interval_s),
        "ANB_WORKER_DLQ_HOLD_S": str(options.dlq_hold_s),
        "PYTHONUNBUFFERED": "1",
    }


@pytest.fixture
def worker_processes(worker_env: dict[str, str], tmp_path: Path) -> Iterator[WorkerProcesses]:
    processes = WorkerProcesses(worker_env, tmp_path)
    yield processes
    for started in processes.started:
        if started.process.poll() is None:
            started.process.send_signal(signal.SIGKILL)
            started.process.wait()


@pytest.fixture
def seeder(aws: Aws, sessions: async_sessionmaker[AsyncSession]) -> Seeder:
    return Seeder(aws, sessions)
