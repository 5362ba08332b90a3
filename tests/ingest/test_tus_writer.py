"""One PATCH's writer (``tus.writer.PatchWriter``) against the session's PostgreSQL and moto: parts
stream to S3 as the body brings them; a part whose stream fails goes again from the copy."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from gateway.tus_support import MIB, padded
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.aws import Aws
from anb_common.settings import AwsSettings
from anb_devstack.moto import free_port
from anb_ingest.tus.copies import Copies
from anb_ingest.tus.s3 import S3TusStorage
from anb_ingest.tus.state import NewUpload, UploadStates
from anb_ingest.tus.writer import PatchWriter

PART = 8 * MIB


async def _body(data: bytes, chunk: int = 256 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        await asyncio.sleep(0)
        yield data[start : start + chunk]


async def _write_whole(
    data: bytes,
    parts_in_flight: int,
    user_id: uuid.UUID,
    sessions: async_sessionmaker[AsyncSession],
    streaming: Aws,
    aws: Aws,
    spool: Path,
) -> bytes:
    """Send ``data`` as one PATCH of a new upload, complete it; the object's bytes."""
    states = UploadStates(sessions, lease_s=60)
    token = uuid.uuid4()
    new = NewUpload(uuid.uuid4(), user_id, "Escritor", "", len(data), PART, expires_in_s=3600)
    upload = await states.create(new, max_in_progress=3, token=token)
    assert upload is not None
    copies = Copies(spool)
    async with aws.s3() as s3, streaming.s3_streaming() as streamed:
        storage = S3TusStorage(s3, aws.settings.bucket, streaming=streamed)
        writer = PatchWriter(
            upload,
            token,
            states=states,
            storage=storage,
            copy=copies.at(upload.id, 0, 0),
            parts_in_flight=parts_in_flight,
        )
        written = await writer.write(_body(data))
        assert written.completing
        assert len(written.parts) == 2
        assert written.object_key is not None
        assert written.multipart_id is not None
        assert written.last_part_etag is not None
        await storage.complete(
            written.object_key, written.multipart_id, [*written.parts, written.last_part_etag]
        )
        stored = await (await s3.get_object(Bucket=aws.settings.bucket, Key=written.object_key))[
            "Body"
        ].read()
        await storage.delete(written.object_key)
    await copies.drop(upload.id)
    await states.remove(upload.id, token)
    return bytes(stored)


# One slot or two: a slot bounds the parts on their way, never the bytes the body may bring.
@pytest.mark.parametrize("parts_in_flight", [1, 2])
async def test_a_patch_of_whole_parts_is_stored_byte_for_byte(
    parts_in_flight: int,
    user_id: uuid.UUID,
    sessions: async_sessionmaker[AsyncSession],
    aws: Aws,
    clip: Callable[..., Path],
    tmp_path: Path,
) -> None:
    data = padded(clip("writer.mp4"), tmp_path / "writer.mp4", 20 * MIB).read_bytes()
    stored = await _write_whole(data, parts_in_flight, user_id, sessions, aws, aws, tmp_path / "spool")
    assert stored == data


async def test_parts_whose_stream_fails_go_again_from_the_copy(
    user_id: uuid.UUID,
    sessions: async_sessionmaker[AsyncSession],
    aws: Aws,
    clip: Callable[..., Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = padded(clip("writer.mp4"), tmp_path / "writer.mp4", 20 * MIB).read_bytes()
    # Streams go to an address where nothing listens: every part's stream fails at once.
    nowhere = Aws(AwsSettings(endpoint_url=f"http://127.0.0.1:{free_port()}", bucket=aws.settings.bucket))
    with caplog.at_level(logging.WARNING, logger="anb_ingest.tus.writer"):
        assert await _write_whole(data, 2, user_id, sessions, nowhere, aws, tmp_path / "spool") == data
    resent = [record for record in caplog.records if "sending it again from the copy" in record.getMessage()]
    assert len(resent) == 3
