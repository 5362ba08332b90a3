"""Helpers for the resumable upload tests: tus headers, clips of a chosen size, and what an upload
leaves in the database and the bucket."""

from __future__ import annotations

import base64
import struct
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from anb_common.aws import Aws
from anb_common.db.dsn import libpq_url

MIB = 1024 * 1024
TUS = {"Tus-Resumable": "1.0.0"}
OCTETS = {"Content-Type": "application/offset+octet-stream"}


def metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


def padded(clip: Path, target: Path, size: int) -> Path:
    """``clip`` plus one top-level ``free`` box, so that the file is exactly ``size`` bytes and still
    the same valid video (readers skip ``free`` boxes)."""
    data = clip.read_bytes()
    pad = size - len(data)
    assert pad >= 8
    with target.open("wb") as out:
        out.write(data)
        out.write(struct.pack(">I", pad) + b"free")
        out.write(bytes(range(256)) * ((pad - 8) // 256) + bytes((pad - 8) % 256))
    return target


def moov_first(clip: Path, target: Path) -> Path:
    """``clip`` with its ``moov`` box before the media (as phones that write faststart do)."""
    argv = ["ffmpeg", "-y", "-loglevel", "error", "-i", str(clip), "-c", "copy", "-movflags", "+faststart"]
    subprocess.run([*argv, str(target)], check=True, timeout=120)
    return target


@dataclass(frozen=True)
class Leftovers:
    rows: int
    multipart_uploads: list[str]
    objects: list[str]


async def leftovers(aws: Aws, db_url: str, upload_id: str) -> Leftovers:
    """Everything of upload ``upload_id`` still stored: its row, multipart uploads, objects."""
    connection = await asyncpg.connect(libpq_url(db_url))
    try:
        rows = await connection.fetchval("SELECT count(*) FROM tus_uploads WHERE id = $1::uuid", upload_id)
    finally:
        await connection.close()
    prefix = f"uploads/{upload_id}."
    async with aws.s3() as s3:
        uploads = await s3.list_multipart_uploads(Bucket=aws.settings.bucket, Prefix=prefix)
        objects = await s3.list_objects_v2(Bucket=aws.settings.bucket, Prefix=prefix)
    return Leftovers(
        rows,
        [item["Key"] for item in uploads.get("Uploads", [])],
        [item["Key"] for item in objects.get("Contents", [])],
    )


NOTHING = Leftovers(0, [], [])


async def create(
    client: httpx.AsyncClient, auth: dict[str, str], length: int, title: str = "Jugada", **headers: str
) -> str:
    response = await client.post(
        "/api/uploads/",
        headers={
            **TUS,
            **auth,
            "Upload-Length": str(length),
            "Upload-Metadata": metadata(title=title),
            **headers,
        },
    )
    assert response.status_code == 201, response.text
    return response.headers["Location"]


async def send(
    client: httpx.AsyncClient, auth: dict[str, str], location: str, offset: int, data: bytes, **headers: str
) -> httpx.Response:
    return await client.patch(
        location, content=data, headers={**TUS, **OCTETS, **auth, "Upload-Offset": str(offset), **headers}
    )


def upload_id(location: str) -> str:
    return str(uuid.UUID(location.rsplit("/", 1)[-1]))
