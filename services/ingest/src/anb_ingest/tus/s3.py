"""The tus storage on S3: a multipart upload per upload, tail objects, ranged reads back."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, cast

from anb_ingest.s3store import abort_upload
from anb_ingest.tus.storage import UploadVanished

if TYPE_CHECKING:
    import io

    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

# Reading an object back in ranges of this size, a few at once: S3 serves each range from another
# server, so parallel ranges read a 100 MB original in a fraction of one stream's time.
_RANGE_BYTES = 8 * 1024 * 1024
_RANGES_IN_FLIGHT = 4
_CHUNK = 1024 * 1024


class _Arriving:
    """A part's body that is sent as its bytes arrive. aiohttp iterates it (over http); botocore's
    aws-chunked wrapper, which adds the CRC32 trailer over HTTPS, reads it, and takes its length
    (``__len__``) for the decoded length S3 requires."""

    def __init__(self, chunks: AsyncIterator[bytes], length: int) -> None:
        self._chunks = chunks
        self._length = length
        self._pending = b""

    def __len__(self) -> int:
        return self._length

    async def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (the next chunk's when ``size`` is negative), as they come; b"" at
        the end."""
        if not self._pending:
            self._pending = await anext(self._chunks, b"")
        if size < 0:
            size = len(self._pending)
        taken, self._pending = self._pending[:size], self._pending[size:]
        return taken

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks


class S3TusStorage:
    def __init__(self, client: S3Client, bucket: str, *, streaming: S3Client) -> None:
        self._client = client
        self._bucket = bucket
        self._streaming = streaming
        """The same bucket through ``Aws.s3_streaming`` (bodies still arriving)."""

    async def start(self, key: str, content_type: str) -> str:
        response = await self._client.create_multipart_upload(
            Bucket=self._bucket, Key=key, ContentType=content_type
        )
        return response["UploadId"]

    async def write_part(
        self, key: str, multipart_id: str, number: int, body: io.RawIOBase, length: int
    ) -> str:
        response = await self._client.upload_part(
            Bucket=self._bucket,
            Key=key,
            UploadId=multipart_id,
            PartNumber=number,
            Body=cast("BinaryIO", body),  # any seekable binary file; the stubs name only IO
            ContentLength=length,
        )
        return response["ETag"]

    async def stream_part(
        self, key: str, multipart_id: str, number: int, chunks: AsyncIterator[bytes], length: int
    ) -> str:
        response = await self._streaming.upload_part(
            Bucket=self._bucket,
            Key=key,
            UploadId=multipart_id,
            PartNumber=number,
            Body=cast("BinaryIO", _Arriving(chunks, length)),
            ContentLength=length,
        )
        return response["ETag"]

    async def complete(self, key: str, multipart_id: str, etags: Sequence[str]) -> None:
        parts: list[CompletedPartTypeDef] = [
            {"PartNumber": number, "ETag": etag} for number, etag in enumerate(etags, start=1)
        ]
        try:
            await self._client.complete_multipart_upload(
                Bucket=self._bucket, Key=key, UploadId=multipart_id, MultipartUpload={"Parts": parts}
            )
        except self._client.exceptions.NoSuchUpload as exc:
            raise UploadVanished(key) from exc

    async def abort(self, key: str, multipart_id: str) -> None:
        await abort_upload(self._client, self._bucket, key, multipart_id)

    async def put(self, key: str, body: io.RawIOBase, length: int) -> None:
        await self._client.put_object(
            Bucket=self._bucket, Key=key, Body=cast("BinaryIO", body), ContentLength=length
        )

    async def read(self, key: str, length: int) -> AsyncIterator[bytes]:
        response = await self._client.get_object(Bucket=self._bucket, Key=key)
        if response["ContentLength"] != length:
            raise ValueError(f"{key} holds {response['ContentLength']} bytes, not {length}")
        stream = response["Body"]
        try:
            while chunk := await stream.read(_CHUNK):
                yield chunk
        finally:
            stream.close()

    async def download(self, key: str, target: Path) -> int:
        size = (await self._client.head_object(Bucket=self._bucket, Key=key))["ContentLength"]
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            os.ftruncate(fd, size)
            slots = asyncio.Semaphore(_RANGES_IN_FLIGHT)

            async def fetch(start: int) -> None:
                async with slots:
                    end = min(start + _RANGE_BYTES, size) - 1
                    response = await self._client.get_object(
                        Bucket=self._bucket, Key=key, Range=f"bytes={start}-{end}"
                    )
                    at, stream = start, response["Body"]
                    try:
                        while chunk := await stream.read(_CHUNK):
                            at += await asyncio.to_thread(os.pwrite, fd, chunk, at)
                    finally:
                        stream.close()

            async with asyncio.TaskGroup() as group:
                for start in range(0, size, _RANGE_BYTES):
                    group.create_task(fetch(start))
        finally:
            os.close(fd)
        return size

    async def exists(self, key: str) -> bool:
        try:
            await self._client.head_object(Bucket=self._bucket, Key=key)
        except self._client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    async def delete(self, key: str) -> None:
        await self._client.delete_object(Bucket=self._bucket, Key=key)

    async def delete_prefix(self, prefix: str) -> list[str]:
        removed: list[str] = []
        paginator = self._client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            keys = [item["Key"] for item in page.get("Contents", [])]
            for key in keys:
                with contextlib.suppress(self._client.exceptions.NoSuchKey):
                    await self._client.delete_object(Bucket=self._bucket, Key=key)
            removed += keys
        return removed
