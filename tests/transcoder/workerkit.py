"""Helpers for the worker tests (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common import keys, messages
from anb_common.aws import Aws
from anb_common.db.models import User, Video
from anb_transcoder.settings import WorkerSettings
from anb_transcoder.worker import Worker

# Short enough that an expired heartbeat or a killed worker shows within seconds.
VISIBILITY_S = 2


@contextlib.asynccontextmanager
async def running(settings: WorkerSettings) -> AsyncIterator[Worker]:
    """A worker on this event loop (the transcode in its thread), stopped gracefully on exit."""
    worker = Worker(settings)
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.request_stop()
        await asyncio.wait_for(task, timeout=120)


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 90.0, what: str = "") -> None:
    """Poll until ``check`` holds; the timeout only bounds a hang, it is not a speed assertion."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.1)


def pid_is_dead(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@dataclass
class Queues:
    """A queue pair of this test only, with the production redrive policy."""

    aws: Aws
    name: str
    dlq_name: str
    url: str = ""
    dlq_url: str = ""

    async def send(self, body: str) -> str:
        """Send ``body``; returns SQS's message id."""
        async with self.aws.sqs() as sqs:
            return (await sqs.send_message(QueueUrl=self.url, MessageBody=body))["MessageId"]

    async def send_job(self, video_id: uuid.UUID) -> str:
        return await self.send(
            messages.encode(messages.JobMessage.for_upload(video_id, f"uploads/{video_id}.mp4"))
        )

    async def depth(self, url: str) -> int:
        async with self.aws.sqs() as sqs:
            attributes = (
                await sqs.get_queue_attributes(
                    QueueUrl=url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )
            )["Attributes"]
        return sum(int(value) for value in attributes.values())

    async def receive_all(self, url: str, visibility_s: int = 30) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async with self.aws.sqs() as sqs:
            while True:
                response = await sqs.receive_message(
                    QueueUrl=url,
                    MaxNumberOfMessages=10,
                    WaitTimeSeconds=0,
                    VisibilityTimeout=visibility_s,
                    MessageSystemAttributeNames=["ApproximateReceiveCount"],
                    MessageAttributeNames=["All"],
                )
                batch = response.get("Messages", [])
                if not batch:
                    return found
                found.extend(batch)


@dataclass
class WorkerProcess:
    process: subprocess.Popen[bytes]
    log: Path

    def records(self) -> list[dict[str, Any]]:
        entries = []
        for line in self.log.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                entries.append(json.loads(line))
        return entries

    def said(self, msg: str) -> list[dict[str, Any]]:
        return [entry for entry in self.records() if entry.get("msg") == msg]

    def signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 120) -> int:
        return self.process.wait(timeout)


@dataclass
class WorkerProcesses:
    env: dict[str, str]
    folder: Path
    started: list[WorkerProcess] = field(default_factory=list)

    def start(self, **overrides: str) -> WorkerProcess:
        log = self.folder / f"worker-{len(self.started) + 1}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "anb_transcoder"],
                env={**self.env, **overrides},
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        started = WorkerProcess(process, log)
        self.started.append(started)
        return started


@dataclass
class Seeder:
    aws: Aws
    sessions: async_sessionmaker[AsyncSession]
    user_id: uuid.UUID | None = None

    async def video(self, source: Path | bytes, *, upload: bool = True, **object_args: Any) -> uuid.UUID:
        """An ``uploaded`` row and (unless ``upload`` is false) its original in S3."""
        data = source if isinstance(source, bytes) else source.read_bytes()
        video_id = uuid.uuid4()
        key = keys.upload_key(video_id, "mp4")
        async with self.sessions.begin() as session:
            if self.user_id is None:
                self.user_id = uuid.uuid4()
                session.add(
                    User(
                        id=self.user_id,
                        first_name="Test",
                        last_name="Player",
                        email=f"{self.user_id}@example.com",
                        password_hash="x",
                        city="Bogotá",
                        country="Colombia",
                    )
                )
                await session.flush()
            session.add(
                Video(
                    id=video_id,
                    user_id=self.user_id,
                    title="clip",
                    status="uploaded",
                    original_key=key,
                    container="mp4",
                    codec="h264",
                    size_bytes=len(data),
                    duration_s=2.0,
                    width=1920,
                    height=1080,
                    checksum_sha256=hashlib.sha256(data).hexdigest(),
                )
            )
        if upload:
            async with self.aws.s3() as s3:
                await s3.put_object(Bucket=self.aws.settings.bucket, Key=key, Body=data, **object_args)
        return video_id

    async def row(self, video_id: uuid.UUID) -> Video | None:
        async with self.sessions() as session:
            return (await session.execute(select(Video).where(Video.id == video_id))).scalar_one_or_none()

    async def hold(self, video_id: uuid.UUID, message_id: str, seconds: float) -> None:
        """Put the video in ``processing`` under another job's lease, as a worker busy with it would."""
        async with self.sessions.begin() as session:
            await session.execute(
                update(Video)
                .where(Video.id == video_id)
                .values(
                    status="processing",
                    lease_holder=uuid.uuid4(),
                    lease_message_id=message_id,
                    lease_expires_at=func.now() + timedelta(seconds=seconds),
                )
            )

    async def delete(self, video_id: uuid.UUID) -> None:
        """What the gateway does when a player deletes a video: the row and the original go."""
        async with self.sessions.begin() as session:
            video = await session.get(Video, video_id)
            if video is not None:
                await session.delete(video)
        async with self.aws.s3() as s3:
            await s3.delete_object(Bucket=self.aws.settings.bucket, Key=keys.upload_key(video_id, "mp4"))

    async def outputs(self, video_id: uuid.UUID) -> set[str]:
        """The video's objects under processed/: its MP4 and its derivatives."""
        async with self.aws.s3() as s3:
            listing = await s3.list_objects_v2(
                Bucket=self.aws.settings.bucket, Prefix=keys.PROCESSED_PREFIX + str(video_id)
            )
        return {item["Key"] for item in listing.get("Contents", [])}

    async def object_exists(self, key: str) -> bool:
        async with self.aws.s3() as s3:
            listing = await s3.list_objects_v2(Bucket=self.aws.settings.bucket, Prefix=key)
        return any(item["Key"] == key for item in listing.get("Contents", []))
