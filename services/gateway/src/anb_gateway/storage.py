"""What the controllers need from object storage: time-limited download links and deletion."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Protocol

from anb_common.aws import Aws

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client


class Storage(Protocol):
    async def download_url(self, key: str) -> str:
        """A presigned GET link to the object, valid for the configured expiry."""
        ...

    async def delete(self, *keys: str) -> None:
        """Remove the objects; keys that do not exist are not an error."""
        ...


class S3Storage:
    """S3 (moto locally) through two long-lived clients, opened once at start-up."""

    def __init__(self, aws: Aws, expiry_s: int) -> None:
        self._aws = aws
        self._bucket = aws.settings.bucket
        self._expiry_s = expiry_s
        self._stack = AsyncExitStack()
        self._s3: S3Client | None = None
        self._public: S3Client | None = None

    async def start(self) -> None:
        self._s3 = await self._stack.enter_async_context(self._aws.s3())
        # Links carry the address clients reach storage by, which may differ from ours.
        self._public = await self._stack.enter_async_context(self._aws.public_s3())

    async def close(self) -> None:
        await self._stack.aclose()

    async def download_url(self, key: str) -> str:
        assert self._public is not None, "S3Storage.start() was not awaited"
        return await self._public.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=self._expiry_s
        )

    async def delete(self, *keys: str) -> None:
        assert self._s3 is not None, "S3Storage.start() was not awaited"
        if keys:
            await self._s3.delete_objects(
                Bucket=self._bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
            )
