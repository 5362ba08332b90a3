"""The storage interface against the session's moto: links that download, reuse, deletion."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from anb_common.aws import Aws
from anb_gateway.storage import S3Storage


@pytest.fixture
async def storage(aws: Aws) -> AsyncIterator[S3Storage]:
    opened = S3Storage(aws, expiry_s=3600)
    await opened.start()
    yield opened
    await opened.close()


async def test_link_downloads_and_is_reused_until_deleted(storage: S3Storage, aws: Aws) -> None:
    key = f"processed/{uuid.uuid4()}.mp4"
    async with aws.s3() as s3:
        await s3.put_object(Bucket=aws.settings.bucket, Key=key, Body=b"video bytes")
    url = await storage.download_url(key)
    assert "X-Amz-Expires=3600" in url
    assert await storage.download_url(key) == url
    async with httpx.AsyncClient() as client:
        assert (await client.get(url)).content == b"video bytes"
        await storage.delete(key, f"uploads/{uuid.uuid4()}.mp4")  # a missing key is not an error
        assert (await client.get(url)).status_code == 404


async def test_delete_of_nothing_is_a_no_op(storage: S3Storage) -> None:
    await storage.delete()
