"""PartWriter against a real S3 (moto): parts cut at the right size, bounded in flight, reassembled
byte for byte; a failing part fails the upload."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from anb_common.aws import Aws
from anb_ingest.parts import PartWriter
from anb_ingest.s3store import S3UploadStore
from anb_ingest.spool import Spool
from anb_ingest.storage import MultipartSink

MIB = 1024 * 1024


class CountingSink:
    """The real S3 sink, observed: how many parts are in flight at once, and their sizes."""

    def __init__(self, inner: MultipartSink) -> None:
        self._inner = inner
        self.key = inner.key
        self.upload_id = inner.upload_id
        self.in_flight = 0
        self.max_in_flight = 0
        self.sizes: dict[int, int] = {}

    async def write_part(self, number: int, body: io.RawIOBase, length: int) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await self._inner.write_part(number, body, length)
            self.sizes[number] = length
        finally:
            self.in_flight -= 1

    async def complete(self) -> None:
        await self._inner.complete()

    async def abort(self) -> None:
        await self._inner.abort()


async def test_parts_are_cut_bounded_and_reassembled(aws: Aws, tmp_path: Path) -> None:
    data = os.urandom(5 * MIB * 4 + 123_456)  # four full 5 MiB parts and a short last one
    spool = Spool(tmp_path, "upload")
    async with aws.s3() as s3:
        sink = CountingSink(
            await S3UploadStore(s3, aws.settings.bucket).start("uploads/parts-test.mp4", "video/mp4")
        )
        writer = PartWriter(sink, spool, part_size=5 * MIB, in_flight=2)
        for start in range(0, len(data), 65_536):  # the size of the chunks uvicorn hands over
            await writer.feed(data[start : start + 65_536])
        await writer.finish()
        await sink.complete()
        stored = await s3.get_object(Bucket=aws.settings.bucket, Key="uploads/parts-test.mp4")
        body = await stored["Body"].read()
        await s3.delete_object(Bucket=aws.settings.bucket, Key="uploads/parts-test.mp4")
    spool.close()
    assert body == data
    assert sink.sizes == {1: 5 * MIB, 2: 5 * MIB, 3: 5 * MIB, 4: 5 * MIB, 5: 123_456}
    assert sink.max_in_flight <= 2
    assert spool.sha256 == hashlib.sha256(data).hexdigest()
    assert not spool.folder.exists()


async def test_a_failed_part_fails_the_upload(aws: Aws, tmp_path: Path) -> None:
    spool = Spool(tmp_path, "upload")
    async with aws.s3() as s3:
        store = S3UploadStore(s3, aws.settings.bucket)
        sink = await store.start("uploads/failing-test.mp4", "video/mp4")
        await sink.abort()  # every part upload now fails (moto answers 500, AWS NoSuchUpload)
        writer = PartWriter(sink, spool, part_size=5 * MIB, in_flight=2)

        async def stream() -> None:
            for _ in range(30):
                await writer.feed(os.urandom(MIB))
            await writer.finish()

        with pytest.raises(ClientError):
            await stream()
        await writer.cancel()
    spool.close()
