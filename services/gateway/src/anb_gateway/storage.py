"""What the controllers need from object storage: time-limited download links, small reads (a
playlist, a storyboard) and deletion."""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Protocol

from anb_common.aws import Aws

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client


class StorageError(RuntimeError):
    """Storage refused an operation (the caller keeps its database row so that nothing is orphaned)."""


class Storage(Protocol):
    async def download_url(self, key: str) -> str:
        """A presigned GET link to the object, valid for the configured expiry."""
        ...

    async def download_urls(self, keys: Sequence[str]) -> list[str]:
        """Presigned GET links minted now, in order, for a caller that keeps them together (a
        rewritten playlist); ``download_url``'s reused links may already be older."""
        ...

    async def read(self, key: str) -> bytes | None:
        """The bytes of a small object, or None when there is none."""
        ...

    async def keys_under(self, prefix: str) -> list[str]:
        """The keys that start with ``prefix``."""
        ...

    async def delete(self, *keys: str) -> None:
        """Remove the objects; keys that do not exist are not an error."""
        ...


# Presigning through botocore costs ~0.5-1 ms of CPU (endpoint rules, event hooks), more than the rest
# of a listing request; a link minted for a key is therefore reused while it has most of its life left.
# Handed-out links stay valid for between 3/4 of the expiry and the full expiry.
_REUSE_FRACTION = 0.25
_CACHE_SIZE = 50_000


class S3Storage:
    """S3 (moto locally) through two long-lived clients, opened once at start-up."""

    def __init__(self, aws: Aws, expiry_s: int) -> None:
        self._aws = aws
        self._bucket = aws.settings.bucket
        self._expiry_s = expiry_s
        self._links: dict[str, tuple[str, float]] = {}
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
        now = time.monotonic()
        cached = self._links.get(key)
        if cached is not None and now - cached[1] < self._expiry_s * _REUSE_FRACTION:
            return cached[0]
        url = await self._presign(key)
        if len(self._links) >= _CACHE_SIZE:
            self._links.clear()
        self._links[key] = (url, now)
        return url

    async def download_urls(self, keys: Sequence[str]) -> list[str]:
        # One after the other: presigning is local CPU work, nothing to overlap.
        return [await self._presign(key) for key in keys]

    async def _presign(self, key: str) -> str:
        assert self._public is not None, "S3Storage.start() was not awaited"
        return await self._public.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=self._expiry_s
        )

    async def read(self, key: str) -> bytes | None:
        assert self._s3 is not None, "S3Storage.start() was not awaited"
        try:
            response = await self._s3.get_object(Bucket=self._bucket, Key=key)
        except self._s3.exceptions.NoSuchKey:
            return None
        async with response["Body"] as body:
            return await body.read()

    async def keys_under(self, prefix: str) -> list[str]:
        assert self._s3 is not None, "S3Storage.start() was not awaited"
        keys: list[str] = []
        paginator = self._s3.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self._bucket, Prefix=prefix):
            keys.extend(item["Key"] for item in page.get("Contents", []))
        return keys

    async def delete(self, *keys: str) -> None:
        assert self._s3 is not None, "S3Storage.start() was not awaited"
        for key in keys:
            self._links.pop(key, None)
        if not keys:
            return
        response = await self._s3.delete_objects(
            Bucket=self._bucket, Delete={"Objects": [{"Key": key} for key in keys], "Quiet": True}
        )
        if errors := response.get("Errors"):
            raise StorageError(f"could not delete {[error.get('Key') for error in errors]}: {errors[0]}")
