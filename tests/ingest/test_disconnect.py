"""A client (the gateway) that goes away mid-body, against ingest running as a real uvicorn process:
the multipart upload is aborted, the spool removed, no row written."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ingest_support import IngestProcess, file_header, wait_for

from anb_common.aws import Aws

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("how", ["close", "reset"])
async def test_disconnect_mid_body_leaves_nothing(
    ingest_process: IngestProcess,
    clip: Callable[..., Path],
    headers: dict[str, str],
    user_id: uuid.UUID,
    aws: Aws,
    leftovers: Callable[..., Any],
    how: str,
) -> None:
    boundary = "gone-away"
    head = file_header(boundary) + clip("h264.mp4", codec="libx264").read_bytes()
    declared = 60 * 1000 * 1000
    host, port = ingest_process.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    request_head = (
        f"POST /internal/uploads HTTP/1.1\r\nHost: ingest\r\nContent-Length: {declared}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        + "\r\n"
    ).encode()
    writer.write(request_head + head)
    filler = os.urandom(1024 * 1024)
    for _ in range(20):  # past two 8 MiB parts: an S3 multipart upload is open and holds parts
        writer.write(filler)
        await writer.drain()

    async def open_uploads() -> list[str]:
        async with aws.s3() as s3:
            listing = await s3.list_multipart_uploads(Bucket=aws.settings.bucket)
        return [u["Key"] for u in listing.get("Uploads", [])]

    await wait_for(open_uploads, "the multipart upload to start")
    if how == "reset":
        writer.transport.abort()
    else:
        writer.close()

    async def nothing_left() -> bool:
        return not any((await leftovers(user_id, ingest_process.temp_dir)).values())

    await wait_for(nothing_left, "the upload to be cleaned up")
    del reader
