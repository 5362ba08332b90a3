"""The S3 objects a job reads and writes: the original, the processed video, the brand assets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from anb_common.keys import LOGO_KEY

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

_CHUNK = 1024 * 1024


class MissingObject(Exception):
    """The object is not in the bucket."""


class Storage:
    def __init__(self, s3: S3Client, bucket: str) -> None:
        self._s3 = s3
        self._bucket = bucket

    async def ping(self) -> None:
        """Raise unless the bucket answers: a HEAD of the watermark, which the worker may read anyway
        (HeadBucket would need s3:ListBucket, which the worker's role does not have)."""
        await self._s3.head_object(Bucket=self._bucket, Key=LOGO_KEY)

    async def download(self, key: str, path: Path) -> None:
        try:
            response = await self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise MissingObject(key) from exc
            raise
        stream = response["Body"]
        try:
            # Written in 1 MiB chunks: an original may be 100 MB and must not sit in memory.
            with path.open("wb") as out:
                async for chunk in stream.iter_chunks(_CHUNK):
                    out.write(chunk)
        finally:
            stream.close()

    async def upload_video(self, path: Path, key: str) -> None:
        # A processed video is a few MB (30 s of 720p): one PUT, no multipart bookkeeping to abort.
        body = await asyncio.to_thread(path.read_bytes)
        await self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType="video/mp4")

    async def delete(self, key: str) -> None:
        """Delete the object; deleting one that does not exist is not an error."""
        await self._s3.delete_object(Bucket=self._bucket, Key=key)
