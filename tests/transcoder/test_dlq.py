"""The dead-letter sweeper marks the videos of dead-lettered jobs failed and leaves the messages."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from workerkit import Queues, Seeder

from anb_common import reasons
from anb_common.aws import Aws
from anb_common.db.models import Video
from anb_common.reasons import ProcessingFailure, Reason
from anb_transcoder.dlq import sweep_once
from anb_transcoder.queue import JobQueue
from anb_transcoder.videos import VideoStore


async def test_sweep_fails_stuck_videos_and_keeps_the_dead_letters(
    aws: Aws, queues: Queues, seeder: Seeder, sessions: async_sessionmaker[AsyncSession], small_clip: Path
) -> None:
    stuck = await seeder.video(small_clip, upload=False)
    async with sessions.begin() as session:
        await session.execute(update(Video).where(Video.id == stuck).values(status="processing"))
    finished = await seeder.video(small_clip, upload=False)
    async with sessions.begin() as session:
        await session.execute(update(Video).where(Video.id == finished).values(status="processed"))
    for video_id in (stuck, finished):
        await queues.send_job(video_id)
    async with aws.sqs() as sqs:
        # Move them to the DLQ the way SQS's redrive would leave them there.
        for message in await queues.receive_all(queues.url):
            await sqs.send_message(QueueUrl=queues.dlq_url, MessageBody=message["Body"])
            await sqs.delete_message(QueueUrl=queues.url, ReceiptHandle=message["ReceiptHandle"])
        await sqs.send_message(QueueUrl=queues.dlq_url, MessageBody="garbage")
        queue = await JobQueue.open(sqs, queues.name, queues.dlq_name)
        assert queue.max_receive_count == 3
        marked = await sweep_once(queue, VideoStore(sessions), hold_s=30)
        assert await sweep_once(queue, VideoStore(sessions), hold_s=30) == 0
    assert marked == 1
    stuck_row = await seeder.row(stuck)
    assert stuck_row is not None
    assert stuck_row.status == "failed"
    assert stuck_row.failure_reason is not None
    # The job was received as often as the queue allows before SQS moved it.
    assert reasons.decode(stuck_row.failure_reason) == Reason(ProcessingFailure.GAVE_UP, {"attempts": 3})
    finished_row = await seeder.row(finished)
    assert finished_row is not None
    assert finished_row.status == "processed"
    assert await queues.depth(queues.dlq_url) == 3


async def test_sweep_ends_when_letters_come_straight_back(
    aws: Aws, queues: Queues, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await queues.send("garbage")
    async with aws.sqs() as sqs:
        letters = await queues.receive_all(queues.url)
        await sqs.send_message(QueueUrl=queues.dlq_url, MessageBody=letters[0]["Body"])
        queue = await JobQueue.open(sqs, queues.name, queues.dlq_name)
        # With no hold, every letter is visible again at once: the sweep must still end.
        assert await sweep_once(queue, VideoStore(sessions), hold_s=0) == 0
