"""Never lose a job: SQS down during an upload and back later; several relays at once."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ingest_support import wait_for
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.aws import Aws, queue_url
from anb_common.db.models import OutboxMessage
from anb_common.settings import AwsSettings
from anb_devstack.moto import MotoServer, free_port
from anb_ingest.jobqueue import SqsJobQueue
from anb_ingest.outbox import Outbox

pytestmark = pytest.mark.slow


async def create_queue(settings: AwsSettings) -> None:
    async with Aws(settings).sqs() as sqs:
        await sqs.create_queue(QueueName=settings.queue_name)


async def received_bodies(settings: AwsSettings) -> list[dict[str, Any]]:
    """Each body, with the request id it was sent for (a message attribute) as ``_request_id``."""
    async with Aws(settings).sqs() as sqs:
        url = await queue_url(sqs, settings.queue_name)
        response = await sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        )
    return [
        {
            **json.loads(m["Body"]),
            "_request_id": m.get("MessageAttributes", {}).get("request_id", {}).get("StringValue"),
        }
        for m in response.get("Messages", [])
    ]


async def outbox_row(sessions: async_sessionmaker[AsyncSession], video_id: uuid.UUID) -> OutboxMessage:
    async with sessions() as session:
        return (await session.scalars(select(OutboxMessage).where(OutboxMessage.video_id == video_id))).one()


async def test_sqs_down_during_upload_then_back_publishes_the_job(
    make_app: Callable[..., Litestar],
    aws: Aws,
    clip: Callable[..., Path],
    headers: dict[str, str],
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # SQS gets its own moto server, so that stopping it leaves S3 (the session's moto) up.
    sqs_server = MotoServer(free_port())
    sqs_server.start()
    sqs_settings = aws.settings.model_copy(update={"endpoint_url": sqs_server.url})
    await create_queue(sqs_settings)
    sqs_server.stop()
    try:
        app = make_app(sqs_endpoint_url=sqs_server.url)
        async with AsyncTestClient(app, timeout=60) as client:
            response = await client.post(
                "/internal/uploads",
                files={"video_file": ("a.mp4", clip("h264.mp4", codec="libx264").read_bytes(), "video/mp4")},
                data={"title": "Sin cola"},
                headers=headers,
            )
            assert response.status_code == 202, response.text
            video_id = uuid.UUID(response.json()["video_id"])
            row = await outbox_row(sessions, video_id)
            assert row.sent_at is None

            async def retried() -> bool:
                return (await outbox_row(sessions, video_id)).attempts >= 2

            await wait_for(retried, "the relay to retry while SQS is down")

            # SQS is back (a restarted moto has forgotten its queues: create it again).
            sqs_server.start()
            await create_queue(sqs_settings)

            async def published() -> list[dict[str, Any]]:
                return [b for b in await received_bodies(sqs_settings) if b["video_id"] == str(video_id)]

            [message] = await wait_for(published, "the job to reach the queue")
            assert message["file_path"] == f"uploads/{video_id}.mp4"
            assert message["status"] == "pending"
            # Published by the relay long after the request: its id was kept with the row.
            assert message["_request_id"] == headers["X-Request-ID"]

            async def marked_sent() -> bool:
                return (await outbox_row(sessions, video_id)).sent_at is not None

            await wait_for(marked_sent, "the outbox row to be marked sent")
    finally:
        sqs_server.stop()


async def test_the_upload_path_publishes_the_job_with_its_request_id(
    client: AsyncTestClient[Litestar],
    aws: Aws,
    clip: Callable[..., Path],
    headers: dict[str, str],
) -> None:
    response = await client.post(
        "/internal/uploads",
        files={"video_file": ("a.mp4", clip("h264.mp4", codec="libx264").read_bytes(), "video/mp4")},
        data={"title": "Con cola"},
        headers=headers,
    )
    assert response.status_code == 202, response.text
    video_id = response.json()["video_id"]

    async def published() -> list[dict[str, Any]]:
        return [b for b in await received_bodies(aws.settings) if b["video_id"] == video_id]

    [message] = await wait_for(published, "the job to reach the queue")
    assert message["_request_id"] == headers["X-Request-ID"]


async def test_several_relays_publish_each_message_once(
    aws: Aws, sessions: async_sessionmaker[AsyncSession]
) -> None:
    settings = aws.settings.model_copy(update={"queue_name": f"relay-test-{uuid.uuid4().hex[:8]}"})
    await create_queue(settings)
    video_ids = [uuid.uuid4() for _ in range(30)]
    async with sessions.begin() as session:
        session.add_all(OutboxMessage(video_id=v, body=json.dumps({"video_id": str(v)})) for v in video_ids)

    async with Aws(settings).sqs() as sqs:
        queue = SqsJobQueue(sqs, settings.queue_name)
        # Three "instances", each with its own Outbox, draining in small batches at the same time.
        outboxes = [Outbox(sessions) for _ in range(3)]

        async def drain(outbox: Outbox) -> int:
            total = 0
            while sent := await outbox.publish_pending(queue, limit=4, older_than_s=0):
                total += sent
            return total

        await asyncio.gather(*(drain(o) for o in outboxes))

    seen: list[str] = []
    while batch := await received_bodies(settings):
        seen += [b["video_id"] for b in batch]
    ours = [v for v in seen if uuid.UUID(v) in set(video_ids)]
    assert sorted(ours) == sorted(str(v) for v in video_ids), "each message exactly once"
