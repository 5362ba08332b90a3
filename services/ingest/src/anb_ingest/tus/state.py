"""The state of resumable uploads and the lease a PATCH holds, in PostgreSQL (``tus_uploads``).

Why the database rather than ``.info`` objects beside the upload (tusd's way): several ingest hosts
serve one upload in turns, and the row gives them one truth with atomic changes: creating an upload
within the player's limit, taking the lease (a second writer is refused, not queued), advancing the
offset only while still holding the lease, and dropping the row in the very transaction that
inserts the video.

The lease is a token and an expiry on the row, not a lock held by a transaction: a PATCH may stream
for minutes, and a transaction open that long would pin the connection and hold back vacuum. The
holder renews it while it streams; every write it makes is conditioned on its token, so a holder
that stalled past its lease and lost it changes nothing (``LeaseLost``). A crashed holder's lease
lapses by itself; a restarted ingest also frees at once the leases its dead predecessors on this
host held (``free_dead_holders``).
"""

from __future__ import annotations

import enum
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, text, true, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.db.models import TusUpload, Video
from anb_ingest.tus.offsets import tail_length


@dataclass(frozen=True, slots=True)
class Upload:
    """One upload as its row says, read under (or without) the lease."""

    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    metadata: str
    length: int
    offset: int
    part_size: int
    object_key: str | None
    multipart_id: str | None
    parts: tuple[str, ...]
    last_part_etag: str | None
    head_checked: bool
    expires_at: datetime
    expired: bool
    """Past ``expires_at`` by the database's clock."""

    @property
    def tail(self) -> int:
        """Bytes kept after the whole parts (a tail object)."""
        return tail_length(self.offset, len(self.parts), self.part_size)

    @property
    def completing(self) -> bool:
        """Every byte is stored (the last part too): what is left is completing and recording it."""
        return self.last_part_etag is not None


@dataclass(frozen=True, slots=True)
class NewUpload:
    id: uuid.UUID
    user_id: uuid.UUID
    title: str
    metadata: str
    length: int
    part_size: int
    expires_in_s: float


class Refused(enum.Enum):
    """Why a lease was not granted."""

    MISSING = "missing"
    """No such upload for this player."""
    EXPIRED = "expired"
    LOCKED = "locked"
    """Another request holds the lease."""


class LeaseLost(Exception):
    """The lease lapsed and was taken (or the row went): this holder must stop writing."""


def holder_name() -> str:
    """Who holds a lease: this host and process, so that a restart can free its dead leases."""
    return f"{socket.gethostname()}:{os.getpid()}"


_COLUMNS = (
    TusUpload.id,
    TusUpload.user_id,
    TusUpload.title,
    TusUpload.metadata_header,
    TusUpload.length,
    TusUpload.upload_offset,
    TusUpload.part_size,
    TusUpload.object_key,
    TusUpload.multipart_id,
    TusUpload.parts,
    TusUpload.last_part_etag,
    TusUpload.head_checked,
    TusUpload.expires_at,
    (TusUpload.expires_at <= func.now()).label("expired"),
)


def _upload(row: Any) -> Upload:
    return Upload(
        id=row.id,
        user_id=row.user_id,
        title=row.title,
        metadata=row.metadata_header,
        length=row.length,
        offset=row.upload_offset,
        part_size=row.part_size,
        object_key=row.object_key,
        multipart_id=row.multipart_id,
        parts=tuple(row.parts),
        last_part_etag=row.last_part_etag,
        head_checked=row.head_checked,
        expires_at=row.expires_at,
        expired=row.expired,
    )


def _lease_until(ttl_s: float) -> Any:
    return func.now() + timedelta(seconds=ttl_s)


class UploadStates:
    """The rows of uploads in progress; every method is one short transaction."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, lease_s: float) -> None:
        self._sessions = sessions
        self.lease_s = lease_s
        self.holder = holder_name()

    async def create(self, new: NewUpload, *, max_in_progress: int, token: uuid.UUID) -> Upload | None:
        """Insert the upload, leased to ``token`` (its creation may carry bytes); None when the player
        already has ``max_in_progress`` uploads that have not expired."""
        async with self._sessions.begin() as session:
            # Serialises one player's creations, so that two at once cannot both pass the count.
            await session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": str(new.user_id)}
            )
            count = await session.scalar(
                select(func.count())
                .select_from(TusUpload)
                .where(TusUpload.user_id == new.user_id, TusUpload.expires_at > func.now())
            )
            if (count or 0) >= max_in_progress:
                return None
            row = (
                await session.execute(
                    insert(TusUpload)
                    .values(
                        id=new.id,
                        user_id=new.user_id,
                        title=new.title,
                        metadata_header=new.metadata,
                        length=new.length,
                        part_size=new.part_size,
                        expires_at=func.now() + timedelta(seconds=new.expires_in_s),
                        lease_token=token,
                        lease_holder=self.holder,
                        lease_expires_at=_lease_until(self.lease_s),
                    )
                    .returning(*_COLUMNS)
                )
            ).one()
            return _upload(row)

    async def get(self, upload_id: uuid.UUID, user_id: uuid.UUID) -> Upload | None:
        """The upload, if it is this player's."""
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(*_COLUMNS).where(TusUpload.id == upload_id, TusUpload.user_id == user_id)
                )
            ).one_or_none()
        return None if row is None else _upload(row)

    async def finished_size(self, upload_id: uuid.UUID, user_id: uuid.UUID) -> int | None:
        """The size of the video this player's upload became, if it did (its row is gone then)."""
        async with self._sessions() as session:
            size: int | None = await session.scalar(
                select(Video.size_bytes).where(Video.id == upload_id, Video.user_id == user_id)
            )
        return size

    async def existing(self, upload_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``upload_ids`` are still uploads in progress."""
        if not upload_ids:
            return set()
        async with self._sessions() as session:
            found = await session.scalars(select(TusUpload.id).where(TusUpload.id.in_(upload_ids)))
            return set(found)

    async def acquire(
        self, upload_id: uuid.UUID, user_id: uuid.UUID, token: uuid.UUID, *, expired_too: bool = False
    ) -> Upload | Refused:
        """Take the lease of this player's upload, unless a live lease is held or (unless
        ``expired_too``, to remove it) the upload expired."""
        fresh = TusUpload.expires_at > func.now() if not expired_too else true()
        async with self._sessions.begin() as session:
            row = (
                await session.execute(
                    update(TusUpload)
                    .where(
                        TusUpload.id == upload_id,
                        TusUpload.user_id == user_id,
                        fresh,
                        (TusUpload.lease_token.is_(None)) | (TusUpload.lease_expires_at <= func.now()),
                    )
                    .values(
                        lease_token=token,
                        lease_holder=self.holder,
                        lease_expires_at=_lease_until(self.lease_s),
                    )
                    .returning(*_COLUMNS)
                )
            ).one_or_none()
        if row is not None:
            return _upload(row)
        current = await self.get(upload_id, user_id)
        if current is None:
            return Refused.MISSING
        return Refused.EXPIRED if current.expired and not expired_too else Refused.LOCKED

    async def take_expired(self, token: uuid.UUID, limit: int) -> list[Upload]:
        """Lease up to ``limit`` expired uploads nobody is writing (the sweeper's)."""
        async with self._sessions.begin() as session:
            ids = (
                select(TusUpload.id)
                .where(
                    TusUpload.expires_at <= func.now(),
                    (TusUpload.lease_token.is_(None)) | (TusUpload.lease_expires_at <= func.now()),
                )
                .order_by(TusUpload.expires_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
                .scalar_subquery()
            )
            rows = (
                await session.execute(
                    update(TusUpload)
                    .where(TusUpload.id.in_(ids))
                    .values(
                        lease_token=token,
                        lease_holder=self.holder,
                        lease_expires_at=_lease_until(self.lease_s),
                    )
                    .returning(*_COLUMNS)
                )
            ).all()
        return [_upload(row) for row in rows]

    async def renew(self, upload_id: uuid.UUID, token: uuid.UUID) -> None:
        await self._change(upload_id, token, lease_expires_at=_lease_until(self.lease_s))

    async def started(self, upload_id: uuid.UUID, token: uuid.UUID, key: str, multipart_id: str) -> None:
        """The multipart upload that receives the parts exists (named before any part is written)."""
        await self._change(upload_id, token, object_key=key, multipart_id=multipart_id)

    async def advance(self, upload: Upload, token: uuid.UUID, etags: Sequence[str], offset: int) -> Upload:
        """Whole parts ``etags`` follow the upload's parts and the durable offset is now ``offset``
        (past them, with the tail written after them if any)."""
        parts = list(upload.parts) + list(etags)
        await self._change(
            upload.id,
            token,
            TusUpload.upload_offset == upload.offset,
            func.cardinality(TusUpload.parts) == len(upload.parts),
            parts=parts,
            upload_offset=offset,
            lease_expires_at=_lease_until(self.lease_s),
        )
        return replace(upload, parts=tuple(parts), offset=offset)

    async def last_part_stored(self, upload: Upload, token: uuid.UUID, etag: str) -> Upload:
        await self._change(upload.id, token, last_part_etag=etag)
        return replace(upload, last_part_etag=etag)

    async def head_checked(self, upload: Upload, token: uuid.UUID) -> Upload:
        await self._change(upload.id, token, head_checked=True)
        return replace(upload, head_checked=True)

    async def release(self, upload_id: uuid.UUID, token: uuid.UUID) -> None:
        """Give the lease back (a no-op when it was lost or the row is gone)."""
        async with self._sessions.begin() as session:
            await session.execute(
                update(TusUpload)
                .where(TusUpload.id == upload_id, TusUpload.lease_token == token)
                .values(lease_token=None, lease_holder=None, lease_expires_at=None)
            )

    async def remove(self, upload_id: uuid.UUID, token: uuid.UUID) -> None:
        """Drop the row (its objects are gone); ``LeaseLost`` if the lease is no longer ours."""
        async with self._sessions.begin() as session:
            await remove_in(session, upload_id, token)

    async def free_dead_holders(self, alive: Callable[[int], bool]) -> int:
        """Free the leases that processes of this host which are no longer running held."""
        host = self.holder.rsplit(":", 1)[0]
        async with self._sessions.begin() as session:
            rows = (
                await session.execute(
                    select(TusUpload.id, TusUpload.lease_holder).where(
                        TusUpload.lease_holder.like(f"{host}:%"), TusUpload.lease_expires_at > func.now()
                    )
                )
            ).all()
            dead = [row.id for row in rows if not _holder_alive(row.lease_holder, self.holder, alive)]
            if dead:
                await session.execute(
                    update(TusUpload)
                    .where(TusUpload.id.in_(dead))
                    .values(lease_token=None, lease_holder=None, lease_expires_at=None)
                )
        return len(dead)

    async def _change(self, upload_id: uuid.UUID, token: uuid.UUID, *conditions: Any, **values: Any) -> None:
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(TusUpload)
                .where(TusUpload.id == upload_id, TusUpload.lease_token == token, *conditions)
                .values(**values)
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                raise LeaseLost(str(upload_id))


async def remove_in(session: AsyncSession, upload_id: uuid.UUID, token: uuid.UUID) -> None:
    """Drop the row inside the caller's transaction (the one that records the video)."""
    result = await session.execute(
        delete(TusUpload).where(TusUpload.id == upload_id, TusUpload.lease_token == token)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LeaseLost(str(upload_id))


def _holder_alive(holder: str, ours: str, alive: Callable[[int], bool]) -> bool:
    if holder == ours:
        return True
    pid = holder.rsplit(":", 1)[1]
    return pid.isdigit() and alive(int(pid))
