"""The state of resumable uploads and the PATCH lease in PostgreSQL (anb_ingest.tus.state): one writer
at a time, a crashed writer's lease lapses, a lost lease changes nothing, the per-player limit."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.db.models import TusUpload
from anb_ingest.tus.state import LeaseLost, NewUpload, Refused, Upload, UploadStates

LEASE_S = 1.0


@pytest.fixture
def states(sessions: async_sessionmaker[AsyncSession]) -> UploadStates:
    return UploadStates(sessions, lease_s=LEASE_S)


def _new(user_id: uuid.UUID, expires_in_s: float = 3600) -> NewUpload:
    return NewUpload(uuid.uuid4(), user_id, "t", "", 20, 8, expires_in_s)


async def test_one_writer_at_a_time_and_a_crashed_writers_lease_lapses(
    states: UploadStates, user_id: uuid.UUID
) -> None:
    created = await states.create(_new(user_id), max_in_progress=3, token=uuid.uuid4())
    assert created is not None
    # The creation's lease (held while a creation-with-upload writes) is given back.
    first, second = uuid.uuid4(), uuid.uuid4()
    assert await states.acquire(created.id, user_id, first) is Refused.LOCKED
    await asyncio.sleep(LEASE_S + 0.2)
    # Its holder "crashed" without releasing: once the lease lapses, the next writer gets it ...
    leased = await states.acquire(created.id, user_id, first)
    assert isinstance(leased, Upload)
    assert await states.acquire(created.id, user_id, second) is Refused.LOCKED
    advanced = await states.advance(leased, first, ["etag-1"], 8)
    assert (advanced.offset, advanced.parts) == (8, ("etag-1",))
    # ... and a holder that stalled past its lease and lost it to another changes nothing.
    await asyncio.sleep(LEASE_S + 0.2)
    taken = await states.acquire(created.id, user_id, second)
    assert isinstance(taken, Upload)
    with pytest.raises(LeaseLost):
        await states.advance(advanced, first, ["etag-2"], 16)
    assert (taken.offset, taken.parts) == (8, ("etag-1",))
    await states.release(created.id, second)
    assert isinstance(await states.acquire(created.id, user_id, first), Upload)


async def test_another_players_upload_is_missing(states: UploadStates, user_id: uuid.UUID) -> None:
    created = await states.create(_new(user_id), max_in_progress=3, token=uuid.uuid4())
    assert created is not None
    assert await states.acquire(created.id, uuid.uuid4(), uuid.uuid4()) is Refused.MISSING
    assert await states.get(created.id, uuid.uuid4()) is None


async def test_an_expired_upload_is_refused_but_can_still_be_removed(
    states: UploadStates, user_id: uuid.UUID, sessions: async_sessionmaker[AsyncSession]
) -> None:
    token = uuid.uuid4()
    created = await states.create(_new(user_id), max_in_progress=3, token=token)
    assert created is not None
    await states.release(created.id, token)
    async with sessions.begin() as session:
        await session.execute(
            update(TusUpload).where(TusUpload.id == created.id).values(expires_at=TusUpload.created_at)
        )
    assert await states.acquire(created.id, user_id, uuid.uuid4()) is Refused.EXPIRED
    remover = uuid.uuid4()
    assert isinstance(await states.acquire(created.id, user_id, remover, expired_too=True), Upload)
    await states.remove(created.id, remover)
    assert await states.get(created.id, user_id) is None


async def test_a_player_has_at_most_max_in_progress_even_when_creating_at_once(
    states: UploadStates, user_id: uuid.UUID
) -> None:
    made = await asyncio.gather(
        *(states.create(_new(user_id), max_in_progress=3, token=uuid.uuid4()) for _ in range(6))
    )
    assert sum(upload is not None for upload in made) == 3
