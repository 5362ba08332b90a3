"""The invariant checker and resumable uploads (#18): an upload in progress owns its objects, its
multipart upload and its copy on disk; one its expiry passed long ago, still there, is a violation."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.aws import Aws
from anb_common.db.models import TusUpload, User
from anb_common.settings import AwsSettings, DatabaseSettings
from anb_devstack import invariants


async def _upload(sessions: async_sessionmaker[AsyncSession], expires_at: datetime) -> uuid.UUID:
    user, upload = uuid.uuid4(), uuid.uuid4()
    async with sessions.begin() as session:
        session.add(
            User(
                id=user, first_name="In", last_name="Variant", email=f"{user}@example.test",
                password_hash="x", city="Cali", country="Colombia",
            )
        )  # fmt: skip
        await session.flush()
        session.add(
            TusUpload(id=upload, user_id=user, title="t", length=10, part_size=8, expires_at=expires_at)
        )
    return upload


def _about(problems: list[str], upload: uuid.UUID) -> list[str]:
    # The session's bucket and database hold other tests' state too: only this upload's lines count.
    return [problem for problem in problems if str(upload) in problem]


async def test_an_upload_in_progress_owns_what_it_stored(
    sessions: async_sessionmaker[AsyncSession],
    aws: Aws,
    aws_settings: AwsSettings,
    db_settings: DatabaseSettings,
    tmp_path: Path,
) -> None:
    upload = await _upload(sessions, datetime.now(UTC) + timedelta(hours=1))
    async with aws.s3() as s3:
        bucket = aws_settings.bucket
        await s3.put_object(Bucket=bucket, Key=f"uploads/{upload}.tail-5", Body=b"12345")
        multipart = await s3.create_multipart_upload(Bucket=bucket, Key=f"uploads/{upload}.mp4")
    spool = tmp_path / "spool"
    (spool / f"upload-1-tus-{upload}-abcd").mkdir(parents=True)
    scope = invariants.Scope(aws_settings, db_settings.url, tmp_path / "jobs", spool_dir=spool)
    try:
        assert _about(await invariants.check(scope), upload) == []
        # Once it is gone (finished elsewhere, terminated), the same things are leftovers.
        async with sessions.begin() as session:
            await session.delete(await session.get(TusUpload, upload))
        problems = _about(await invariants.check(scope), upload)
        assert len(problems) == 3, problems
    finally:
        async with aws.s3() as s3:
            await s3.delete_object(Bucket=bucket, Key=f"uploads/{upload}.tail-5")
            await s3.abort_multipart_upload(
                Bucket=bucket, Key=f"uploads/{upload}.mp4", UploadId=multipart["UploadId"]
            )


async def test_an_upload_expired_past_the_sweepers_margin_is_a_violation(
    sessions: async_sessionmaker[AsyncSession],
    aws_settings: AwsSettings,
    db_settings: DatabaseSettings,
    tmp_path: Path,
) -> None:
    recent = await _upload(sessions, datetime.now(UTC) - timedelta(seconds=30))
    old = await _upload(sessions, datetime.now(UTC) - timedelta(seconds=invariants.SWEEP_MARGIN_S + 60))
    scope = invariants.Scope(aws_settings, db_settings.url, tmp_path / "jobs")
    problems = await invariants.check(scope)
    try:
        # Expired a moment ago: the sweeper has not come by yet, which is no violation.
        assert _about(problems, recent) == []
        assert _about(problems, old) == [
            f"resumable upload {old} expired over {invariants.SWEEP_MARGIN_S} s ago, not swept"
        ]
    finally:
        async with sessions.begin() as session:
            for upload in (recent, old):
                await session.delete(await session.get(TusUpload, upload))
