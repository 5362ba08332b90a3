"""The S3 objects a job reads and writes: the original, the processed video and its derivatives, the
brand assets."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from anb_common.keys import LOGO_KEY

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

_CHUNK = 1024 * 1024
_DELETE_BATCH = 1000
"""Keys one DeleteObjects request takes at most."""


class MissingObject(Exception):
    """The object is not in the bucket."""


class DeleteFailed(Exception):
    """S3 refused to delete some of the objects (named in the message)."""


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

    async def upload(self, path: Path, key: str, content_type: str) -> None:
        # A processed video is a few MB (30 s of 720p), a derivative less: one PUT, no multipart
        # bookkeeping to abort.
        body = await asyncio.to_thread(path.read_bytes)
        await self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, ContentType=content_type)

    async def keys_under(self, prefix: str) -> list[str]:
        """Every key that starts with ``prefix`` (needs s3:ListBucket on that prefix)."""
        found: list[str] = []
        paginator = self._s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            found.extend(item["Key"] for item in page.get("Contents", []))
        return found

    async def delete(self, *keys: str) -> None:
        """Delete the objects; deleting one that does not exist is not an error."""
        for start in range(0, len(keys), _DELETE_BATCH):
            batch = keys[start : start + _DELETE_BATCH]
            response = await self._s3.delete_objects(
                Bucket=self._bucket, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
            )
            failed = response.get("Errors", [])
            if failed:
                raise DeleteFailed(", ".join(f"{error.get('Key')}: {error.get('Code')}" for error in failed))
