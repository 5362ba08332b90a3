"""Job outcomes with a worker running in-process against real moto, PostgreSQL and video."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import av
import m3u8
import pytest
from workerkit import Queues, Seeder, eventually, running

from anb_common import keys, messages, reasons
from anb_common.reasons import ProcessingFailure, Reason
from anb_devstack.clips import make_frame_bomb, make_stuck_timestamps
from anb_devstack.invariants import Scope, output_problems
from anb_transcoder.jobs import retry_delay
from anb_transcoder.settings import WorkerSettings


def _job_starts(caplog: pytest.LogCaptureFixture) -> int:
    # Each test has its own queue, so every "job started" record is for the test's video.
    return sum(1 for record in caplog.records if record.getMessage() == "job started")


async def _status(seeder: Seeder, video_id: uuid.UUID) -> str | None:
    row = await seeder.row(video_id)
    return None if row is None else row.status


async def _reason(seeder: Seeder, video_id: uuid.UUID) -> Reason:
    """The stored failure reason, which must be a code (text would decode as ``unspecified``)."""
    row = await seeder.row(video_id)
    assert row is not None
    assert row.failure_reason is not None
    return reasons.decode(row.failure_reason)


async def _eventually_status(seeder: Seeder, video_id: uuid.UUID, wanted: str, what: str) -> None:
    async def reached() -> bool:
        return await _status(seeder, video_id) == wanted

    await eventually(reached, what=what)


async def test_success_publishes_the_processed_video_and_deletes_the_message(
    worker_settings: WorkerSettings, queues: Queues, seeder: Seeder, small_clip: Path, temp_dir: Path
) -> None:
    video_id = await seeder.video(small_clip)
    await queues.send_job(video_id)
    async with running(worker_settings):
        await _eventually_status(seeder, video_id, "processed", "the video to be processed")
        await eventually(lambda: _empty(queues, queues.url), what="the message to be deleted")
    row = await seeder.row(video_id)
    assert row is not None
    assert row.processed_key == keys.processed_key(video_id)
    assert row.progress == 100
    assert row.processed_at is not None
    assert row.processing_started_at is not None
    async with seeder.aws.s3() as s3:
        head = await s3.head_object(Bucket=seeder.aws.settings.bucket, Key=keys.processed_key(video_id))
        assert head["ContentType"] == "video/mp4"
        data = await (await s3.get_object(Bucket=seeder.aws.settings.bucket, Key=row.processed_key))[
            "Body"
        ].read()
    output = temp_dir.parent / "out.mp4"
    output.write_bytes(data)
    with av.open(str(output)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    assert await queues.depth(queues.dlq_url) == 0
    assert list(temp_dir.iterdir()) == []
    # The derivatives were uploaded before the row said processed, under the keys it names.
    assert (row.poster_key, row.storyboard_key, row.hls_key) == (
        keys.poster_key(video_id, 0),
        keys.storyboard_key(video_id),
        keys.hls_playlist_key(video_id),
    )
    bucket = seeder.aws.settings.bucket
    async with seeder.aws.s3() as s3:
        for key, wanted in [(row.poster_key, "image/jpeg"), (row.hls_key, "application/vnd.apple.mpegurl")]:
            assert (await s3.head_object(Bucket=bucket, Key=key))["ContentType"] == wanted
        playlist = m3u8.loads(
            (await (await s3.get_object(Bucket=bucket, Key=row.hls_key))["Body"].read()).decode()
        )
    named = [*(segment.uri for segment in playlist.segments), playlist.segment_map[0].uri]
    pictures = {row.processed_key, row.poster_key, row.storyboard_key, keys.sprite_key(video_id), row.hls_key}
    assert await seeder.outputs(video_id) == pictures | {keys.hls_prefix(video_id) + name for name in named}
    assert await _output_problems(worker_settings, video_id) == []
    # A stale object under the prefix is an orphan the checker names.
    stray = keys.hls_prefix(video_id) + "segment-999.m4s"
    async with seeder.aws.s3() as s3:
        await s3.put_object(Bucket=bucket, Key=stray, Body=b"")
    assert await _output_problems(worker_settings, video_id) == [
        f"orphan derivative {stray}: video {video_id} does not name it"
    ]
    # Deleted as before #17 (the row, the original and the MP4): the derivatives are orphans; deleted
    # with its prefix, nothing is left.
    await seeder.delete(video_id)
    async with seeder.aws.s3() as s3:
        await s3.delete_object(Bucket=bucket, Key=keys.processed_key(video_id))
    left = await seeder.outputs(video_id)
    assert await _output_problems(worker_settings, video_id) == [
        f"orphan object {key}: no video row owns it" for key in sorted(left)
    ]
    async with seeder.aws.s3() as s3:
        for key in left:
            await s3.delete_object(Bucket=bucket, Key=key)
    assert await _output_problems(worker_settings, video_id) == []


async def _output_problems(settings: WorkerSettings, video_id: uuid.UUID) -> list[str]:
    scope = Scope(aws=settings.aws, db_url=settings.db.url, temp_dir=settings.processing.temp_dir)
    return await output_problems(scope, [video_id])


async def _empty(queues: Queues, url: str) -> bool:
    return await queues.depth(url) == 0


async def test_poison_video_fails_without_retry(
    worker_settings: WorkerSettings,
    queues: Queues,
    seeder: Seeder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    video_id = await seeder.video(b"\x00\x01 this is not a video " * 100)
    await queues.send_job(video_id)
    with caplog.at_level(logging.INFO):
        async with running(worker_settings):
            await _eventually_status(seeder, video_id, "failed", "the video to be failed")
            await eventually(lambda: _empty(queues, queues.url), what="the message to be deleted")
    assert await _reason(seeder, video_id) == Reason(ProcessingFailure.DAMAGED)
    assert _job_starts(caplog) == 1
    assert await queues.depth(queues.dlq_url) == 0
    assert await seeder.outputs(video_id) == set()
    assert await _output_problems(worker_settings, video_id) == []
    # What a failed video keeps is named.
    poster = keys.poster_key(video_id, 0)
    async with seeder.aws.s3() as s3:
        await s3.put_object(Bucket=seeder.aws.settings.bucket, Key=poster, Body=b"")
    kept = f"failed video {video_id} keeps object {poster}"
    assert await _output_problems(worker_settings, video_id) == [kept]


@pytest.mark.parametrize(
    "body",
    [
        "not json at all",
        json.dumps({"schema_version": 2, "video_id": str(uuid.uuid4())}),
        json.dumps({"schema_version": 1, "video_id": "nope", "file_path": "x", "status": "pending"}),
    ],
    ids=["garbage", "unknown-version", "bad-fields"],
)
async def test_malformed_message_goes_to_the_dlq_at_once(
    worker_settings: WorkerSettings, queues: Queues, body: str
) -> None:
    await queues.send(body)
    async with running(worker_settings):
        await eventually(lambda: _empty(queues, queues.url), what="the main queue to empty")
        dead = await queues.receive_all(queues.dlq_url)
    assert [message["Body"] for message in dead] == [body]
    assert dead[0]["MessageAttributes"]["reason"]["StringValue"]


async def test_duplicate_delivery_does_no_second_transcode(
    worker_settings: WorkerSettings,
    queues: Queues,
    seeder: Seeder,
    small_clip: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    video_id = await seeder.video(small_clip)
    await queues.send_job(video_id)
    with caplog.at_level(logging.INFO):
        async with running(worker_settings):
            await _eventually_status(seeder, video_id, "processed", "the first delivery to be processed")
            first = await seeder.row(video_id)
            await queues.send_job(video_id)
            await eventually(lambda: _empty(queues, queues.url), what="the duplicate to be deleted")
    assert _job_starts(caplog) == 1
    second = await seeder.row(video_id)
    assert first is not None
    assert second is not None
    assert second.processed_at == first.processed_at


async def test_a_copy_of_a_job_another_worker_is_processing_is_dropped(
    worker_settings: WorkerSettings,
    queues: Queues,
    seeder: Seeder,
    small_clip: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The outbox published the job twice and another worker holds the video: this copy does nothing
    (the holder's own message stays queued until the holder is done, so nothing is lost)."""
    video_id = await seeder.video(small_clip)
    await seeder.hold(video_id, message_id="the-holders-own-message", seconds=600)
    await queues.send_job(video_id)
    with caplog.at_level(logging.INFO):
        async with running(worker_settings):
            await eventually(lambda: _empty(queues, queues.url), what="the copy to be deleted")
    assert _job_starts(caplog) == 0
    assert any("another copy of this job" in record.getMessage() for record in caplog.records)
    row = await seeder.row(video_id)
    assert row is not None
    assert row.status == "processing"
    assert not await seeder.object_exists(keys.processed_key(video_id))


async def test_a_redelivered_message_waits_for_the_lease_then_is_processed(
    worker_settings: WorkerSettings,
    queues: Queues,
    seeder: Seeder,
    small_clip: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SQS handed this very message to a second worker while the first still held the video: the
    second waits; once the first's lease lapses (it died), the message is processed, once."""
    video_id = await seeder.video(small_clip)
    message_id = await queues.send_job(video_id)
    await seeder.hold(video_id, message_id=message_id, seconds=1.5)
    with caplog.at_level(logging.INFO):
        async with running(worker_settings):
            await _eventually_status(
                seeder, video_id, "processed", "the video to be processed after the lease lapsed"
            )
            await eventually(lambda: _empty(queues, queues.url), what="the message to be deleted")
    assert any("another receive of it" in record.getMessage() for record in caplog.records)
    assert _job_starts(caplog) == 1
    row = await seeder.row(video_id)
    assert row is not None
    assert (row.lease_holder, row.lease_expires_at) == (None, None)


async def test_message_for_a_deleted_video_is_dropped(
    worker_settings: WorkerSettings, queues: Queues, seeder: Seeder
) -> None:
    video_id = uuid.uuid4()
    await queues.send_job(video_id)
    async with running(worker_settings):
        await eventually(lambda: _empty(queues, queues.url), what="the message to be deleted")
    assert not await seeder.object_exists(keys.processed_key(video_id))
    assert await queues.depth(queues.dlq_url) == 0


async def test_missing_original_fails_the_video(
    worker_settings: WorkerSettings, queues: Queues, seeder: Seeder, small_clip: Path
) -> None:
    video_id = await seeder.video(small_clip, upload=False)
    await queues.send_job(video_id)
    async with running(worker_settings):
        await _eventually_status(seeder, video_id, "failed", "the video to be failed")
        await eventually(lambda: _empty(queues, queues.url), what="the message to be deleted")
    assert await _reason(seeder, video_id) == Reason(ProcessingFailure.MISSING_ORIGINAL)


async def _delete_under_way(
    settings: WorkerSettings, queues: Queues, seeder: Seeder, video_id: uuid.UUID
) -> None:
    """Run the video's job and delete the video, as its owner would, once the job reports progress."""
    await queues.send_job(video_id)
    async with running(settings):

        async def under_way() -> bool:
            row = await seeder.row(video_id)
            return row is not None and row.status == "processing" and row.progress > 0

        await eventually(under_way, what="the transcode to make progress")
        await seeder.delete(video_id)
        await eventually(lambda: _empty(queues, queues.url), what="the message to be deleted")


async def test_delete_during_processing_leaves_nothing(
    worker_settings: WorkerSettings, queues: Queues, seeder: Seeder, slow_clip: Path, temp_dir: Path
) -> None:
    video_id = await seeder.video(slow_clip)
    await _delete_under_way(worker_settings, queues, seeder, video_id)
    assert await seeder.outputs(video_id) == set()
    assert await _output_problems(worker_settings, video_id) == []
    assert list(temp_dir.iterdir()) == []


async def test_delete_is_heard_while_decoding_pictures_that_never_reach_the_encoder(
    worker_settings: WorkerSettings,
    queues: Queues,
    seeder: Seeder,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Progress stands still while the decoder works through pictures on one timestamp; the deletion
    is still noticed, well before the frame bound (7,200 of these 20,000 pictures) would end the job."""
    stuck = make_stuck_timestamps(tmp_path / "stuck.mkv", frames=20_000, width=1920, height=1080)
    video_id = await seeder.video(stuck)
    with caplog.at_level(logging.INFO):
        await _delete_under_way(worker_settings, queues, seeder, video_id)
    said = [record.getMessage() for record in caplog.records]
    assert "video deleted during processing; output removed" in said
    assert "video cannot be processed" not in said
    assert not await seeder.object_exists(keys.processed_key(video_id))


async def test_transient_failures_retry_then_fail_the_video_and_park_the_message(
    worker_settings: WorkerSettings, queues: Queues, seeder: Seeder, small_clip: Path
) -> None:
    # An archived original cannot be read (InvalidObjectState): an S3 error, so a transient failure.
    video_id = await seeder.video(small_clip, StorageClass="GLACIER")
    await queues.send_job(video_id)
    async with running(worker_settings):
        await _eventually_status(seeder, video_id, "failed", "the video to be failed after the last attempt")
        await eventually(lambda: _empty(queues, queues.url), what="the main queue to empty")
        dead = await queues.receive_all(queues.dlq_url)
    assert await _reason(seeder, video_id) == Reason(ProcessingFailure.GAVE_UP, {"attempts": 3})
    assert [messages.decode(message["Body"]).video_id for message in dead] == [video_id]
    assert await seeder.outputs(video_id) == set()
    assert await _output_problems(worker_settings, video_id) == []


async def test_files_of_too_many_pictures_fail_at_the_bound_and_the_worker_goes_on(
    worker_settings: WorkerSettings,
    queues: Queues,
    seeder: Seeder,
    small_clip: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # 30 s of kept footage at 10 pictures a second: 300 pictures, a tenth of each file.
    processing = worker_settings.processing.model_copy(update={"max_decoded_fps": 10})
    settings = worker_settings.model_copy(update={"processing": processing})
    bomb = await seeder.video(make_frame_bomb(tmp_path / "bomb.mp4", frames=3000, seconds=3.0))
    stuck = await seeder.video(make_stuck_timestamps(tmp_path / "stuck.mkv", frames=3000))
    normal = await seeder.video(small_clip)
    with caplog.at_level(logging.INFO):
        async with running(settings):
            for video_id in (bomb, stuck):
                await queues.send_job(video_id)
            for video_id in (bomb, stuck):
                await _eventually_status(seeder, video_id, "failed", "the hostile video to be failed")
            await queues.send_job(normal)
            await _eventually_status(seeder, normal, "processed", "the next job to be processed")
            await eventually(lambda: _empty(queues, queues.url), what="every message to be deleted")
    bound = Reason(ProcessingFailure.TOO_MANY_FRAMES, {"max_frames": 300})
    for video_id in (bomb, stuck):
        assert await _reason(seeder, video_id) == bound
    # Failed for good at the first attempt: no retry, nothing dead-lettered.
    assert _job_starts(caplog) == 3
    assert await queues.depth(queues.dlq_url) == 0


def test_retry_delay_grows_to_the_cap() -> None:
    delays = [retry_delay(count, base_s=10, cap_s=60) for count in range(1, 6)]
    assert delays == [10, 20, 40, 60, 60]
