"""The consumer under time and signals: heartbeat, SIGTERM, SIGKILL; workers as real processes."""

from __future__ import annotations

import logging
import signal
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from workerkit import Queues, Seeder, WorkerProcesses, eventually, running

from anb_common import keys
from anb_transcoder.settings import WorkerSettings


def _under_way(seeder: Seeder, video_id: uuid.UUID, temp_dir: Path) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        # The job folder exists from the download to the end of the transcode.
        return any(temp_dir.glob(f"job-*-{video_id}-*")) and await _status(seeder, video_id) == "processing"

    return check


async def _status(seeder: Seeder, video_id: uuid.UUID) -> str | None:
    row = await seeder.row(video_id)
    return None if row is None else row.status


async def test_heartbeat_keeps_a_long_job_invisible(
    worker_settings: WorkerSettings,
    queues: Queues,
    seeder: Seeder,
    slow_clip: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Two free slots: a message whose visibility lapsed mid-job would be received a second time.
    settings = worker_settings.model_copy(
        update={"worker": worker_settings.worker.model_copy(update={"concurrency": 2})}
    )
    video_id = await seeder.video(slow_clip)
    await queues.send_job(video_id)
    with caplog.at_level(logging.INFO):
        async with running(settings):

            async def processed() -> bool:
                return await _status(seeder, video_id) == "processed"

            await eventually(processed, what="the slow job to finish")
            await eventually(lambda: _empty(queues), what="the message to be deleted")
    started = [record for record in caplog.records if record.getMessage() == "job started"]
    assert len(started) == 1
    renewals = [record for record in caplog.records if record.getMessage() == "visibility extended"]
    # The job outlived several visibility timeouts, so it must have been renewed along the way.
    assert renewals or _job_was_short(caplog, settings)


def _job_was_short(caplog: pytest.LogCaptureFixture, settings: WorkerSettings) -> bool:
    records = [r for r in caplog.records if r.getMessage() in ("job started", "job done")]
    return len(records) == 2 and records[1].created - records[0].created < settings.heartbeat_s


async def _empty(queues: Queues) -> bool:
    return await queues.depth(queues.url) == 0


async def test_sigterm_lets_the_running_job_finish_and_exits_0(
    worker_processes: WorkerProcesses, queues: Queues, seeder: Seeder, medium_clip: Path, temp_dir: Path
) -> None:
    video_id = await seeder.video(medium_clip)
    await queues.send_job(video_id)
    worker = worker_processes.start()
    await eventually(_under_way(seeder, video_id, temp_dir), what="the job to start")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    assert await _status(seeder, video_id) == "processed"
    assert await seeder.object_exists(keys.processed_key(video_id))
    assert await queues.depth(queues.url) == 0
    assert list(temp_dir.iterdir()) == []


async def test_sigterm_past_the_grace_period_hands_the_job_back(
    worker_processes: WorkerProcesses, queues: Queues, seeder: Seeder, medium_clip: Path, temp_dir: Path
) -> None:
    video_id = await seeder.video(medium_clip)
    await queues.send_job(video_id)
    worker = worker_processes.start(ANB_WORKER_GRACE_S="0", ANB_WORKER_VISIBILITY_TIMEOUT_S="300")
    await eventually(_under_way(seeder, video_id, temp_dir), what="the job to start")
    worker.signal(signal.SIGTERM)
    assert worker.wait() == 0
    assert worker.said("job cancelled by shutdown; handing it back")
    # Visible again at once, though the worker took it for 300 s.
    back = await queues.receive_all(queues.url)
    assert len(back) == 1
    assert await _status(seeder, video_id) == "processing"
    assert not await seeder.object_exists(keys.processed_key(video_id))
    assert list(temp_dir.iterdir()) == []


async def test_a_killed_workers_job_comes_back_and_another_worker_finishes_it(
    worker_processes: WorkerProcesses, queues: Queues, seeder: Seeder, medium_clip: Path, temp_dir: Path
) -> None:
    video_id = await seeder.video(medium_clip)
    await queues.send_job(video_id)
    first = worker_processes.start()
    await eventually(_under_way(seeder, video_id, temp_dir), what="the job to start")
    first.signal(signal.SIGKILL)
    first.wait()
    left_behind = sorted(path.name for path in temp_dir.iterdir())
    assert any(name.startswith(f"job-{first.process.pid}-") for name in left_behind)

    second = worker_processes.start()

    async def processed() -> bool:
        return await _status(seeder, video_id) == "processed"

    await eventually(processed, what="the second worker to finish the job")
    second.signal(signal.SIGTERM)
    assert second.wait() == 0
    [started] = second.said("job started")
    assert int(started["receive_count"]) >= 2
    # JSON logs carry the job and the video of every record inside a job.
    assert started["video_id"] == str(video_id)
    assert started["job_id"]
    assert await queues.depth(queues.url) == 0
    assert await queues.depth(queues.dlq_url) == 0
    assert list(temp_dir.iterdir()) == []


async def test_a_worker_that_cannot_write_its_temp_dir_takes_no_job(
    worker_settings: WorkerSettings,
    queues: Queues,
    seeder: Seeder,
    small_clip: Path,
    temp_dir: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    temp_dir.parent.mkdir(parents=True, exist_ok=True)
    temp_dir.write_text("a file where the folder should be")
    video_id = await seeder.video(small_clip)
    await queues.send_job(video_id)
    with caplog.at_level(logging.INFO):
        async with running(worker_settings):

            def refused() -> bool:
                return any(r.getMessage() == "not ready for jobs; not polling" for r in caplog.records)

            async def noticed() -> bool:
                return refused()

            await eventually(noticed, what="the worker to notice its broken temp dir")
            # The job was not taken, so none of its three attempts was spent on a broken disk.
            assert await _status(seeder, video_id) == "uploaded"
            temp_dir.unlink()

            async def processed() -> bool:
                return await _status(seeder, video_id) == "processed"

            await eventually(processed, what="the job to run once the disk is back")
    started = [record for record in caplog.records if record.getMessage() == "job started"]
    assert len(started) == 1
