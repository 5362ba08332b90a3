"""The tus service when an upload's PATCHes reach different ingest processes (several hosts behind the
load balancer): each takes the tail the other left in S3, and the last one, lacking the first bytes,
validates the completed object read back from S3. Two apps on the session's PostgreSQL and moto."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from gateway.tus_support import MIB, metadata, padded
from ingest_support import INTERNAL_SECRET, wait_for
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common import identity
from anb_common.aws import Aws
from anb_common.db.models import TusUpload, Video
from anb_common.ingest_api import TUS_PATH


def _signed(user_id: uuid.UUID, method: str, path: str, **extra: str) -> dict[str, str]:
    token = identity.sign(user_id, INTERNAL_SECRET, method=method, path=path)
    return {identity.HEADER: token, "Tus-Resumable": "1.0.0", **extra}


async def _patch(
    client: AsyncTestClient[Litestar], user_id: uuid.UUID, path: str, at: int, data: bytes
) -> int:
    headers = _signed(
        user_id,
        "PATCH",
        path,
        **{"Upload-Offset": str(at), "Content-Type": "application/offset+octet-stream"},
    )
    response = await client.patch(path, content=data, headers=headers)
    assert response.status_code == 204, response.text
    return int(response.headers["upload-offset"])


def _empty(folder: Path) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return not any(folder.iterdir())

    return check


async def test_patches_taken_by_two_hosts_make_the_same_video(
    make_app: Callable[..., Litestar],
    user_id: uuid.UUID,
    clip: Callable[..., Path],
    tmp_path: Path,
    temp_dir: Path,
    aws: Aws,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    data = padded(clip("tus-two-hosts.mp4"), tmp_path / "two-hosts.mp4", 20 * MIB).read_bytes()
    async with (
        AsyncTestClient(make_app(), timeout=60) as one,
        # The other host sweeps often, so that its copy of the finished upload goes within the test.
        AsyncTestClient(make_app(tus_sweep_interval_s=0.2), timeout=60) as other,
    ):
        headers = {"Upload-Length": str(len(data)), "Upload-Metadata": metadata(title="Dos hosts")}
        created = await one.post(TUS_PATH, headers=_signed(user_id, "POST", TUS_PATH, **headers))
        assert created.status_code == 201, created.text
        path = created.headers["location"]
        # One host: a part and a 3 MiB tail; the other: that tail from S3, and on past the next part;
        # the first again, whose copy no longer holds the durable bytes: the rest, then the whole file
        # is read back from S3 to validate it.
        assert await _patch(one, user_id, path, 0, data[: 11 * MIB]) == 11 * MIB
        assert await _patch(other, user_id, path, 11 * MIB, data[11 * MIB : 19 * MIB]) == 19 * MIB
        last = await _patch(one, user_id, path, 19 * MIB, data[19 * MIB :])
        assert last == len(data)
        # The other host's copy of the finished upload goes with its sweeper's next round.
        await wait_for(_empty(temp_dir), "the other host's copy to go")
    video_id = uuid.UUID(path.rsplit("/", 1)[-1])
    async with sessions() as session:
        video = await session.get(Video, video_id)
        in_progress = await session.scalar(select(func.count()).where(TusUpload.id == video_id))
    assert video is not None
    assert video.checksum_sha256 == hashlib.sha256(data).hexdigest()
    assert in_progress == 0
    async with aws.s3() as s3:
        stored = await s3.get_object(Bucket=aws.settings.bucket, Key=video.original_key)
        assert hashlib.sha256(await stored["Body"].read()).hexdigest() == video.checksum_sha256
        listed = await s3.list_objects_v2(Bucket=aws.settings.bucket, Prefix=f"uploads/{video_id}.")
    assert [item["Key"] for item in listed.get("Contents", [])] == [video.original_key]
