"""Storage lost in the middle of a job (``make run`` stopping moto under a running transcode): the
worker rides it out with one-line warnings and publishes the video once storage is back."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from workerkit import Queues, Seeder, eventually, running

from anb_devstack.faultproxy import FaultProxy
from anb_devstack.moto import MotoServer, free_port
from anb_transcoder.settings import WorkerSettings


@pytest.fixture
def storage(moto_server: MotoServer) -> Iterator[FaultProxy]:
    """moto behind a proxy that can cut it off without losing its buckets and queues."""
    proxy = FaultProxy(free_port(), moto_server.port)
    proxy.start()
    yield proxy
    proxy.cut()


def _logged(caplog: pytest.LogCaptureFixture, message: str) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.getMessage() == message]


async def test_storage_lost_after_the_download_is_ridden_out_in_one_line_warnings(
    worker_settings: WorkerSettings,
    queues: Queues,
    seeder: Seeder,
    medium_clip: Path,
    storage: FaultProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # One attempt per call: botocore's own retries would only make the test wait longer.
    aws = worker_settings.aws.model_copy(update={"endpoint_url": storage.url, "max_attempts": 1})
    settings = worker_settings.model_copy(update={"aws": aws})
    video_id = await seeder.video(medium_clip)
    await queues.send_job(video_id)
    with caplog.at_level(logging.INFO):
        async with running(settings):

            async def downloaded() -> bool:
                return bool(_logged(caplog, "original downloaded"))

            await eventually(downloaded, what="the original to be downloaded")
            storage.cut()  # the transcode runs on; its upload finds storage gone

            async def retried() -> bool:
                return bool(_logged(caplog, "step failed; retrying"))

            await eventually(retried, what="the upload to be retried")
            storage.restore()

            async def processed() -> bool:
                return await _status(seeder, video_id) == "processed"

            await eventually(processed, what="the video to be published once storage is back")
    retries = _logged(caplog, "step failed; retrying")
    assert all(getattr(record, "step", None) == "uploading the result" for record in retries)
    assert all("EndpointConnectionError" in str(getattr(record, "error", "")) for record in retries)
    # Every warning of the outage (heartbeat, sweeper, upload) is one line: no traceback anywhere.
    warnings = [
        r for r in caplog.records if r.name.startswith("anb_transcoder") and r.levelno >= logging.WARNING
    ]
    assert warnings
    assert [record.getMessage() for record in warnings if record.exc_info] == []


async def _status(seeder: Seeder, video_id: uuid.UUID) -> str | None:
    row = await seeder.row(video_id)
    return None if row is None else row.status
