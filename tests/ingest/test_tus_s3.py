"""The tus storage's streamed part (``S3TusStorage.stream_part``): sent while its bytes still arrive,
stored byte for byte. Over plain http (the session's moto) no checksum goes with it; over HTTPS, as
against AWS, botocore sends its CRC32 after the body (an aws-chunked trailer), which S3 checks: here
moto behind a certificate from a CA made for the test, trusted through ``AWS_CA_BUNDLE``."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
import zlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from anb_common.aws import Aws
from anb_common.settings import AwsSettings
from anb_devstack.moto import MotoServer, free_port
from anb_ingest.tus.s3 import S3TusStorage

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_moto(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    folder = tmp_path_factory.mktemp("moto-tls")
    cert = ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(folder / "server.crt"))
    cert.private_key_pem.write_to_path(str(folder / "server.key"))
    server = MotoServer(free_port(), tls=(folder / "server.crt", folder / "server.key"))
    server.start()
    yield server
    server.stop()


async def _arriving(data: bytes, chunk: int = 256 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), chunk):
        # Each piece comes after a turn of the event loop, as a PATCH's body does.
        await asyncio.sleep(0)
        yield data[start : start + chunk]


async def _stream_and_complete(aws: Aws, bucket: str) -> tuple[dict[str, str], dict[str, Any], bytes]:
    """Stream a 5 MiB part and a short last one, complete, and check the object; the first part's
    request headers and answer, and its bytes."""
    first, last = os.urandom(5 * MIB), os.urandom(1000)
    key = f"uploads/{uuid.uuid4()}.mp4"
    sent: dict[str, str] = {}
    answered: dict[str, Any] = {}

    def keep_headers(request: Any, **_: Any) -> None:
        if not sent:
            sent.update({name.lower(): _text(value) for name, value in request.headers.items()})

    def keep_answer(parsed: dict[str, Any], **_: Any) -> None:
        if not answered:
            answered.update(parsed)

    async with aws.s3() as s3, aws.s3_streaming() as streaming:
        streaming.meta.events.register("before-send.s3.UploadPart", keep_headers)
        streaming.meta.events.register("after-call.s3.UploadPart", keep_answer)
        storage = S3TusStorage(s3, bucket, streaming=streaming)
        multipart_id = await storage.start(key, "video/mp4")
        etags = [
            await storage.stream_part(key, multipart_id, 1, _arriving(first), len(first)),
            await storage.stream_part(key, multipart_id, 2, _arriving(last), len(last)),
        ]
        await storage.complete(key, multipart_id, etags)
        stored = await (await s3.get_object(Bucket=bucket, Key=key))["Body"].read()
        await storage.delete(key)
    assert stored == first + last
    return sent, answered, first


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


async def test_over_http_a_part_streams_with_its_length_and_no_checksum(aws: Aws) -> None:
    sent, _, first = await _stream_and_complete(aws, aws.settings.bucket)
    assert sent["content-length"] == str(len(first))
    assert "x-amz-trailer" not in sent
    assert not any(name.startswith("x-amz-checksum-") for name in sent)


async def test_over_https_a_streamed_part_carries_its_crc32_after_it(
    tls_moto: MotoServer, ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("AWS_CA_BUNDLE", str(bundle))
    aws = Aws(AwsSettings(endpoint_url=tls_moto.url, bucket=f"anb-tls-{uuid.uuid4().hex[:8]}"))
    async with aws.s3() as s3:
        await s3.create_bucket(Bucket=aws.settings.bucket)

    sent, answered, first = await _stream_and_complete(aws, aws.settings.bucket)

    # The body goes as it comes, framed with its decoded length; its CRC32 follows it.
    assert sent["content-encoding"] == "aws-chunked"
    assert sent["x-amz-content-sha256"] == "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
    assert sent["x-amz-trailer"] == "x-amz-checksum-crc32"
    assert sent["x-amz-decoded-content-length"] == str(len(first))
    assert "content-length" not in sent
    # What the server took for the part's checksum is that of the bytes sent.
    assert answered["ChecksumCRC32"] == base64.b64encode(zlib.crc32(first).to_bytes(4, "big")).decode()
