"""What the worker tells the outside: READY=1 on NOTIFY_SOCKET once its readiness passes (brand
assets, database, bucket, queue), the upload's request id (an SQS message attribute) in its lines for
that job, and the job's figures (anb_common.metrics)."""

from __future__ import annotations

import asyncio
import signal
import uuid
from pathlib import Path

from workerkit import Queues, Seeder, WorkerProcesses, eventually

from anb_common import messages
from anb_common.metrics import Metrics
from anb_common.settings import MetricsSettings
from anb_devstack.notifysocket import NotifySocket
from anb_transcoder.settings import WorkerSettings
from anb_transcoder.worker import Worker


async def _send_for_request(queues: Queues, video_id: uuid.UUID, request_id: str) -> None:
    body = messages.encode(messages.JobMessage.for_upload(video_id, f"uploads/{video_id}.mp4"))
    async with queues.aws.sqs() as sqs:
        await sqs.send_message(
            QueueUrl=queues.url, MessageBody=body, MessageAttributes=messages.attributes(request_id)
        )


async def _processed(seeder: Seeder, video_id: uuid.UUID) -> bool:
    row = await seeder.row(video_id)
    return row is not None and row.status == "processed"


async def test_ready_once_it_can_work_and_the_request_id_in_the_jobs_lines(
    worker_processes: WorkerProcesses, queues: Queues, seeder: Seeder, small_clip: Path, tmp_path: Path
) -> None:
    systemd = NotifySocket(tmp_path / "notify")
    try:
        worker = worker_processes.start(**systemd.env)
        received = await asyncio.to_thread(systemd.wait_for, "READY=1", 120)
        assert received[-2:] == ["READY=1", "STATUS=ready"]
        video_id = await seeder.video(small_clip)
        await _send_for_request(queues, video_id, "upload-request-77")
        await eventually(lambda: _processed(seeder, video_id), what="the job to finish")
        worker.signal(signal.SIGTERM)
        assert worker.wait() == 0
    finally:
        systemd.close()
    lines = [entry for entry in worker.records() if entry.get("video_id") == str(video_id)]
    said = {entry["msg"] for entry in lines}
    assert {"job started", "transcoded", "job done"} <= said
    assert {entry.get("request_id") for entry in lines} == {"upload-request-77"}


_NO_BRAND = "STATUS=not ready: brand_assets: "


async def test_a_worker_whose_bucket_lacks_the_brand_assets_is_not_ready(
    worker_processes: WorkerProcesses, tmp_path: Path
) -> None:
    systemd = NotifySocket(tmp_path / "notify")
    try:
        worker = worker_processes.start(
            **systemd.env, ANB_AWS_BUCKET=f"no-such-bucket-{uuid.uuid4().hex[:6]}"
        )
        # On a loaded machine an earlier check may time out first (its own STATUS line): wait for
        # the one that names the brand assets.
        received = await asyncio.to_thread(
            systemd.wait_until, lambda got: any(line.startswith(_NO_BRAND) for line in got), 120
        )
        worker.signal(signal.SIGTERM)
        worker.wait()
    finally:
        systemd.close()
    assert any(line.startswith(_NO_BRAND) for line in received), received
    assert "READY=1" not in systemd.received


async def test_a_jobs_figures(
    worker_settings: WorkerSettings, queues: Queues, seeder: Seeder, small_clip: Path
) -> None:
    # No batch is taken while the test runs (the next one is decades away); it reads the figures.
    settings = worker_settings.model_copy(update={"metrics": MetricsSettings(interval_s=1e9)})
    metrics = Metrics()
    worker = Worker(settings, metrics)
    video_id = await seeder.video(small_clip)
    await queues.send_job(video_id)
    task = asyncio.create_task(worker.run())
    try:
        await eventually(lambda: _processed(seeder, video_id), what="the job to finish")

        async def settled() -> bool:
            return await queues.depth(queues.url) == 0

        # The message is deleted after the job's figures are counted.
        await eventually(settled, what="the message to be deleted")
        taken = metrics.take()
    finally:
        worker.request_stop()
        await asyncio.wait_for(task, timeout=120)
    counted = {
        (datum["MetricName"], tuple((d["Name"], d["Value"]) for d in datum["Dimensions"])): datum
        for datum in taken
    }
    assert sum(counted[("JobsProcessed", ())]["Counts"]) == 1
    for timed in ("JobQueueWait", "TranscodeTime", "EndToEndTime"):
        (seconds,) = counted[(timed, ())]["Values"]
        assert seconds >= 0, timed
    assert counted[("TranscodeTime", ())]["Values"][0] > 0
    assert counted[("EndToEndTime", ())]["Values"][0] >= counted[("TranscodeTime", ())]["Values"][0]
    # Ready was reported. A readiness pass that timed out on a busy machine adds a 0 beside it: that is
    # the figure doing its job, not a fault of the worker.
    assert 1.0 in counted[("Ready", (("Service", "transcoder"),))]["Values"]
