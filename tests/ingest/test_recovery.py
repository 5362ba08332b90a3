"""Start-up recovery after a crash: open multipart uploads aborted, unrecorded objects deleted, spool
folders removed; a recorded original is kept. Also end to end: ingest SIGKILLed mid-upload."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ingest_support import NOTHING_LEFT, IngestProcess, file_header, wait_for
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.aws import Aws
from anb_common.db.models import Video
from anb_ingest.recovery import recover
from anb_ingest.s3store import S3UploadStore
from anb_ingest.spool import FileSection, Journal, read_journal
from anb_ingest.storage import MultipartSink

MIB = 1024 * 1024


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


async def put_part(sink: MultipartSink, data: bytes, tmp_path: Path) -> None:
    source = tmp_path / f"part-{uuid.uuid4().hex}"
    source.write_bytes(data)
    with FileSection(source, 0, len(data)) as body:
        await sink.write_part(1, body, len(data))


def crashed_folder(parent: Path, journal: Journal | None) -> Path:
    folder = parent / f"upload-{dead_pid()}-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True)
    (folder / "spooled").write_bytes(b"partial")
    if journal is not None:
        (folder / "journal.json").write_text(
            f'{{"key": "{journal.key}", "upload_id": "{journal.upload_id}"}}'
        )
    return folder


async def test_recover_undoes_each_crash_point(
    aws: Aws,
    sessions: async_sessionmaker[AsyncSession],
    user_id: uuid.UUID,
    tmp_path: Path,
    leftovers: Callable[..., Any],
) -> None:
    bucket = aws.settings.bucket
    async with aws.s3() as s3:
        store = S3UploadStore(s3, bucket)
        # 1. died mid-body: a multipart upload open with a part in it
        open_upload = await store.start(f"uploads/{uuid.uuid4()}.mp4", "video/mp4")
        await put_part(open_upload, b"x", tmp_path)
        # 2. died between completing the object and committing its row
        unrecorded = await store.start(f"uploads/{uuid.uuid4()}.mp4", "video/mp4")
        await put_part(unrecorded, b"y", tmp_path)
        await unrecorded.complete()
        # 3. died after the commit, before removing its spool: the object is a video's original
        recorded_id = uuid.uuid4()
        recorded = await store.start(f"uploads/{recorded_id}.mp4", "video/mp4")
        await put_part(recorded, b"z", tmp_path)
        await recorded.complete()
        async with sessions.begin() as session:
            session.add(
                Video(
                    id=recorded_id,
                    user_id=user_id,
                    title="t",
                    status="uploaded",
                    original_key=recorded.key,
                    container="mp4",
                    codec="h264",
                    size_bytes=1,
                    duration_s=21.0,
                    width=1920,
                    height=1080,
                    checksum_sha256=hashlib.sha256(b"z").hexdigest(),
                )
            )
        folders = [
            crashed_folder(tmp_path, Journal(sink.key, sink.upload_id))
            for sink in (open_upload, unrecorded, recorded)
        ]
        folders.append(crashed_folder(tmp_path, None))  # 4. died before touching S3

        assert await recover(tmp_path, store, sessions, older_than_s=86_400, at_start_up=True) == 4

        assert not any(folder.exists() for folder in folders)
        uploads = await s3.list_multipart_uploads(Bucket=bucket)
        assert [u["Key"] for u in uploads.get("Uploads", [])] == []
        listing = await s3.list_objects_v2(Bucket=bucket, Prefix="uploads/")
        keys = {o["Key"] for o in listing.get("Contents", [])}
    assert unrecorded.key not in keys
    assert recorded.key in keys


@pytest.mark.slow
async def test_sigkilled_mid_upload_the_restarted_ingest_leaves_nothing(
    start_ingest: Callable[[], IngestProcess],
    clip: Callable[..., Path],
    headers: dict[str, str],
    user_id: uuid.UUID,
    aws: Aws,
    leftovers: Callable[..., Any],
) -> None:
    first = start_ingest()
    boundary = "killed"
    declared = 60 * 1000 * 1000
    host, port = first.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        (
            f"POST /internal/uploads HTTP/1.1\r\nHost: ingest\r\nContent-Length: {declared}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
            + "\r\n"
        ).encode()
        + file_header(boundary)
        + clip("h264.mp4", codec="libx264").read_bytes()
    )
    filler = os.urandom(MIB)
    for _ in range(20):
        writer.write(filler)
        await writer.drain()

    async def journaled() -> list[Path]:
        return [f for f in first.temp_dir.glob("upload-*") if read_journal(f) is not None]

    await wait_for(journaled, "the upload to reach S3")
    assert first.pid is not None
    os.kill(first.pid, signal.SIGKILL)
    writer.transport.abort()
    del reader

    start_ingest()  # same spool folder, a new process: recovery runs before it serves

    # Recovery runs before the new process serves: nothing is left once it answers its health check.
    assert await leftovers(user_id, first.temp_dir) == NOTHING_LEFT, first.log.read_text()[-3000:]
