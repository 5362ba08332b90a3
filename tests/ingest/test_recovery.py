"""Recovery after a crash: which spool folders are leftovers and what their journals say; open
multipart uploads aborted, unrecorded objects deleted, spool folders removed, a recorded original
kept. Also end to end: ingest SIGKILLed mid-upload."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ingest_support import NOTHING_LEFT, IngestProcess, file_header, wait_for
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.aws import Aws
from anb_common.db.models import Video
from anb_ingest.recovery import orphans, read_journal, recover
from anb_ingest.s3store import S3UploadStore
from anb_ingest.sections import FileSection
from anb_ingest.spool import JOURNAL, RETRY_MARKER, Journal, Spool
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


def test_orphans_are_folders_of_dead_processes_or_too_old(tmp_path: Path) -> None:
    sibling = tmp_path / f"upload-{os.getppid()}-live"  # another live process's upload in flight
    dead = tmp_path / f"upload-{dead_pid()}-abc"
    old = tmp_path / f"upload-{os.getppid()}-old"
    for folder in (sibling, dead, old):
        folder.mkdir()
    a_day_ago = time.time() - 90_000
    os.utime(old, (a_day_ago, a_day_ago))
    assert set(orphans(tmp_path, older_than_s=86_400, at_start_up=True)) == {dead, old}
    assert orphans(tmp_path / "missing", older_than_s=600, at_start_up=True) == []


def test_own_folders_are_live_uploads_after_start_up_unless_marked_for_retry(tmp_path: Path) -> None:
    live = Spool(tmp_path, "clip")
    failed = Spool(tmp_path, "clip")
    failed.keep_for_retry()
    failed.close()
    assert failed.folder.exists()
    assert not failed.path.exists()
    # At start-up any folder with our pid is an earlier process's; while serving, ours are live.
    assert set(orphans(tmp_path, older_than_s=86_400, at_start_up=True)) == {live.folder, failed.folder}
    assert orphans(tmp_path, older_than_s=86_400, at_start_up=False) == [failed.folder]
    live.close()


OWNERS: dict[str, Callable[[], str]] = {
    "ours": lambda: str(os.getpid()),
    "live": lambda: str(os.getppid()),
    "dead": lambda: str(dead_pid()),
    "no pid": lambda: "x1",
}


@pytest.mark.parametrize(
    ("owner", "at_start_up", "marked", "orphaned"),
    [
        ("ours", True, False, True),
        ("ours", False, False, False),
        ("ours", False, True, True),
        ("live", True, False, False),
        ("live", False, False, False),
        ("live", True, True, True),
        ("dead", True, False, True),
        ("dead", False, False, True),
        ("no pid", False, False, True),
    ],
)
def test_orphan_table(tmp_path: Path, owner: str, at_start_up: bool, marked: bool, orphaned: bool) -> None:
    folder = tmp_path / f"upload-{OWNERS[owner]()}-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    if marked:
        (folder / RETRY_MARKER).touch()
    (tmp_path / "not-an-upload").mkdir()
    found = orphans(tmp_path, older_than_s=86_400, at_start_up=at_start_up)
    assert found == ([folder] if orphaned else [])


@pytest.mark.parametrize(
    ("case", "files", "expected"),
    [
        ("none yet", {}, None),
        ("whole", {JOURNAL: '{"key": "uploads/x.mp4", "upload_id": "u1"}'}, Journal("uploads/x.mp4", "u1")),
        ("not renamed into place", {JOURNAL + ".new": '{"key": "k", "upload_id": "u"}'}, None),
        ("cut short", {JOURNAL: '{"key": "uploads/x.mp4", "upl'}, None),
        ("a field missing", {JOURNAL: '{"key": "uploads/x.mp4"}'}, None),
        ("not an object", {JOURNAL: '["uploads/x.mp4", "u1"]'}, None),
    ],
)
def test_read_journal_table(
    tmp_path: Path, case: str, files: dict[str, str], expected: Journal | None
) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    assert read_journal(tmp_path) == expected, case


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
