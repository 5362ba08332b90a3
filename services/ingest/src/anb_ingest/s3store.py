"""The upload store on S3 multipart uploads."""

from __future__ import annotations

import contextlib
import io
import logging
from typing import TYPE_CHECKING, BinaryIO, cast

from anb_ingest.storage import MultipartSink

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

log = logging.getLogger(__name__)

# A key no upload ever has (uploads are uploads/<uuid>.<ext>).
_PROBE_KEY = "uploads/readiness-probe"


class S3MultipartSink:
    def __init__(self, client: S3Client, bucket: str, key: str, upload_id: str) -> None:
        self._client = client
        self._bucket = bucket
        self.key = key
        self.upload_id = upload_id
        self._parts: dict[int, str] = {}

    async def write_part(self, number: int, body: io.RawIOBase, length: int) -> None:
        response = await self._client.upload_part(
            Bucket=self._bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=cast("BinaryIO", body),  # any seekable binary file; the stubs name only IO
            ContentLength=length,
        )
        self._parts[number] = response["ETag"]

    async def complete(self) -> None:
        parts: list[CompletedPartTypeDef] = [
            {"PartNumber": number, "ETag": etag} for number, etag in sorted(self._parts.items())
        ]
        await self._client.complete_multipart_upload(
            Bucket=self._bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": parts}
        )

    async def abort(self) -> None:
        await abort_upload(self._client, self._bucket, self.key, self.upload_id)


async def abort_upload(client: S3Client, bucket: str, key: str, upload_id: str) -> None:
    # Already gone (aborted or completed before, or expired by the lifecycle rule) is the state we want.
    with contextlib.suppress(client.exceptions.NoSuchUpload):
        await client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)


class S3UploadStore:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    async def start(self, key: str, content_type: str) -> MultipartSink:
        response = await self._client.create_multipart_upload(
            Bucket=self._bucket, Key=key, ContentType=content_type
        )
        return S3MultipartSink(self._client, self._bucket, key, response["UploadId"])

    async def abort(self, key: str, upload_id: str) -> None:
        await abort_upload(self._client, self._bucket, key, upload_id)

    async def delete(self, key: str) -> None:
        await self._client.delete_object(Bucket=self._bucket, Key=key)

    async def ping(self) -> None:
        """Raise unless the bucket answers ingest: a delete of a key that never exists. DeleteObject
        in uploads/ is one of the few calls ingest's role may make, S3 answers it whether or not the
        key exists, and the bucket is not versioned, so nothing is written."""
        await self._client.delete_object(Bucket=self._bucket, Key=_PROBE_KEY)
