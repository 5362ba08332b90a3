"""Ten uploads at once through ingest running as a real uvicorn process: all accepted and consistent."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from ingest_support import IngestProcess, identity_headers
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.aws import Aws
from anb_common.db.models import OutboxMessage, Video

pytestmark = pytest.mark.slow


async def test_ten_concurrent_uploads_all_end_consistent(
    ingest_process: IngestProcess,
    clip: Callable[..., Path],
    user_id: uuid.UUID,
    aws: Aws,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Different bytes per upload (a distinct title, and alternating containers and codecs).
    sources = [clip("h264.mp4", codec="libx264"), clip("vp9.webm", codec="libvpx-vp9")]
    contents = [sources[i % 2].read_bytes() for i in range(10)]

    async with httpx.AsyncClient(base_url=ingest_process.url, timeout=120) as client:

        async def send(index: int) -> httpx.Response:
            return await client.post(
                "/internal/uploads",
                files={"video_file": (f"clip{index}", contents[index], "application/octet-stream")},
                data={"title": f"Jugada {index}"},
                headers=identity_headers(user_id),
            )

        responses = await asyncio.gather(*(send(i) for i in range(10)))

    assert [r.status_code for r in responses] == [202] * 10, [r.text for r in responses]
    ids = [uuid.UUID(r.json()["video_id"]) for r in responses]
    assert len(set(ids)) == 10
    async with sessions() as session:
        videos = {
            v.id: v for v in (await session.scalars(select(Video).where(Video.user_id == user_id))).all()
        }
        outbox = (await session.scalars(select(OutboxMessage).where(OutboxMessage.video_id.in_(ids)))).all()
    assert set(videos) == set(ids)
    assert len(outbox) == 10
    assert all(row.sent_at is not None for row in outbox)
    async with aws.s3() as s3:
        for index, video_id in enumerate(ids):
            video = videos[video_id]
            assert video.title == f"Jugada {index}"
            assert video.checksum_sha256 == hashlib.sha256(contents[index]).hexdigest()
            stored = await s3.get_object(Bucket=aws.settings.bucket, Key=video.original_key)
            assert hashlib.sha256(await stored["Body"].read()).hexdigest() == video.checksum_sha256
        uploads = await s3.list_multipart_uploads(Bucket=aws.settings.bucket)
    assert uploads.get("Uploads", []) == []
    assert not any(ingest_process.temp_dir.rglob("*"))
