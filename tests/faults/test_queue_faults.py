"""Jobs that arrive twice, jobs for videos that are gone, and a worker that cannot write its folder."""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid
from pathlib import Path

from faultkit import FaultPlatform, new_player

from anb_common.aws import Aws, queue_url
from anb_common.keys import processed_key, upload_key
from anb_common.messages import JobMessage, encode


async def _send(fault_platform: FaultPlatform, message: JobMessage) -> None:
    aws = Aws(fault_platform.running.aws)
    async with aws.sqs() as sqs:
        url = await queue_url(sqs, aws.settings.queue_name)
        await sqs.send_message(QueueUrl=url, MessageBody=encode(message))


async def _queue_drained(fault_platform: FaultPlatform, timeout_s: float = 60.0) -> None:
    aws = Aws(fault_platform.running.aws)
    deadline = time.monotonic() + timeout_s
    async with aws.sqs() as sqs:
        url = await queue_url(sqs, aws.settings.queue_name)
        while time.monotonic() < deadline:
            attributes = (
                await sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )
            )["Attributes"]
            if sum(int(value) for value in attributes.values()) == 0:
                return
            await asyncio.sleep(0.5)
    raise AssertionError("the queue did not drain")


async def _last_modified(fault_platform: FaultPlatform, key: str) -> object:
    aws = Aws(fault_platform.running.aws)
    async with aws.s3() as s3:
        return (await s3.head_object(Bucket=aws.settings.bucket, Key=key))["LastModified"]


async def test_same_job_delivered_twice_is_done_once(
    fault_platform: FaultPlatform, accepted_clip: Path
) -> None:
    player = await new_player(fault_platform.api)
    response = await player.upload(accepted_clip)
    assert response.status_code == 202, response.text
    video_id = uuid.UUID(response.json()["video_id"])
    assert await player.wait_for(str(video_id), {"processed", "failed"}) == "processed"
    detail = (await player.client.get(f"/videos/{video_id}", headers=player.auth)).json()
    written = await _last_modified(fault_platform, processed_key(video_id))

    await _send(fault_platform, JobMessage.for_upload(video_id, upload_key(video_id, "mp4")))
    await _queue_drained(fault_platform)

    again = (await player.client.get(f"/videos/{video_id}", headers=player.auth)).json()
    assert again["status"] == "processed"
    assert again["processed_at"] == detail["processed_at"]
    assert await _last_modified(fault_platform, processed_key(video_id)) == written
    await fault_platform.assert_invariants()


async def test_a_copy_of_a_job_sent_while_it_is_processed_is_done_once(
    fault_platform: FaultPlatform, accepted_clip: Path
) -> None:
    """The outbox publishing a job twice: the copy reaches the other worker while the first one
    transcodes, and is dropped there instead of transcoded a second time."""
    player = await new_player(fault_platform.api)
    response = await player.upload(accepted_clip)
    assert response.status_code == 202, response.text
    video_id = uuid.UUID(response.json()["video_id"])
    assert await player.wait_for(str(video_id), {"processing", "processed"}) == "processing"
    await _send(fault_platform, JobMessage.for_upload(video_id, upload_key(video_id, "mp4")))
    assert await player.wait_for(str(video_id), {"processed", "failed"}) == "processed"
    await _queue_drained(fault_platform)
    log = fault_platform.running.log.read_text(errors="replace")
    mine = [line for line in log.splitlines() if str(video_id) in line]
    assert sum('"transcoded"' in line for line in mine) == 1
    # Unless the first worker finished before the copy was received (then it is a plain duplicate).
    assert any("another copy of this job" in line or "duplicate delivery ignored" in line for line in mine)
    await fault_platform.assert_invariants()


async def test_job_for_a_video_that_no_longer_exists(fault_platform: FaultPlatform) -> None:
    ghost = uuid.uuid4()
    await _send(fault_platform, JobMessage.for_upload(ghost, upload_key(ghost, "mp4")))
    await _queue_drained(fault_platform)
    await fault_platform.assert_invariants()


async def test_video_deleted_while_processing(fault_platform: FaultPlatform, accepted_clip: Path) -> None:
    player = await new_player(fault_platform.api)
    response = await player.upload(accepted_clip)
    assert response.status_code == 202, response.text
    video_id = response.json()["video_id"]
    assert await player.wait_for(video_id, {"processing", "processed"}) == "processing"
    deleted = await player.client.delete(f"/videos/{video_id}", headers=player.auth)
    assert deleted.status_code == 200, deleted.text
    await _queue_drained(fault_platform)
    assert await player.status(video_id) == "gone"
    await fault_platform.assert_invariants()


async def test_unwritable_temp_folder(fault_platform: FaultPlatform, accepted_clip: Path) -> None:
    temp_dir = fault_platform.running.temp_dir
    aside = temp_dir.with_name("anb-temp-aside")
    temp_dir.rename(aside)
    # Root ignores permission bits, so a plain file where the folder should be is what makes
    # creating a job folder fail here.
    temp_dir.write_text("not a folder")
    try:
        player = await new_player(fault_platform.api)
        response = await player.upload(accepted_clip)
        assert response.status_code == 202, response.text
        video_id = response.json()["video_id"]
        await asyncio.sleep(3)
        # While the disk is broken the video waits; it is neither lost nor marked done.
        assert await player.status(video_id) in ("uploaded", "processing")
    finally:
        temp_dir.unlink()
        aside.rename(temp_dir)
    final = await player.wait_for(video_id, {"processed", "failed"})
    assert final == "processed"
    await fault_platform.assert_invariants()
    shutil.rmtree(aside, ignore_errors=True)
