"""The gateway's pool under pressure: a request that finds every connection busy waits a bounded time,
then answers 503 with Retry-After, instead of queueing without limit; checkouts that cannot wait are
not timed, and every connection is counted back."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from anb_common.db.dsn import libpq_url
from anb_common.db.models import VideoStatus
from anb_common.settings import DatabaseSettings
from anb_devstack.postgres import EmbeddedPostgres
from anb_gateway.db import create_pool
from gateway.conftest import Gateway, Player, Videos, own_gateway


@pytest.fixture(scope="module")
def one_connection_gateway(gateway_env: dict[str, str], session_tmp: Path) -> Iterator[Gateway]:
    """A gateway with one pooled connection that a caller waits 1 s for."""
    env = {
        **gateway_env,
        "ANB_DB_POOL_SIZE": "1",
        "ANB_DB_MAX_OVERFLOW": "0",
        "ANB_DB_POOL_TIMEOUT_S": "1",
    }
    with own_gateway(env, session_tmp / "gateway-one-connection.log") as started:
        yield started


async def test_a_request_that_finds_no_free_connection_gets_503_with_retry_after(
    one_connection_gateway: Gateway, postgres: EmbeddedPostgres, owner: Player, videos: Videos
) -> None:
    locked = await videos.add(owner.user_id, VideoStatus.PROCESSED)
    other = await videos.add(owner.user_id)
    holder = await asyncpg.connect(libpq_url(postgres.url))
    async with httpx.AsyncClient(base_url=one_connection_gateway.url, timeout=60) as client:
        try:
            lock = holder.transaction()
            await lock.start()
            await holder.execute("SELECT 1 FROM videos WHERE id = $1 FOR UPDATE", locked)
            # Publishing waits on that row lock, holding the gateway's only connection meanwhile.
            publish = asyncio.create_task(client.post(f"/api/videos/{locked}/publish", headers=owner.auth))
            while not await holder.fetchval(
                "SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid'"
            ):
                await asyncio.sleep(0.02)
            # Waits 1 s for a connection, then is refused: without a bound it would wait for the lock
            # (here, until the client's 60 s timeout).
            refused = await client.get(f"/api/videos/{other}", headers=owner.auth)
            assert refused.status_code == 503, refused.text
            assert refused.headers["retry-after"].isdigit()
            assert refused.json()["status_code"] == 503
        finally:
            await lock.rollback()
            await holder.close()
        assert (await publish).status_code == 200
        assert (await client.get(f"/api/videos/{other}", headers=owner.auth)).status_code == 200


def _settings(postgres: EmbeddedPostgres, size: int, timeout_s: float) -> DatabaseSettings:
    return DatabaseSettings(url=postgres.url, pool_size=size, max_overflow=0, pool_timeout_s=timeout_s)


async def test_a_checkout_past_the_pool_size_waits_only_the_bound(postgres: EmbeddedPostgres) -> None:
    pool = await create_pool(_settings(postgres, size=2, timeout_s=0.5))
    try:
        async with pool.acquire(), pool.acquire():
            with pytest.raises(TimeoutError):
                await pool.fetchval("SELECT 1")
        assert await pool.fetchval("SELECT 1") == 1
    finally:
        await pool.close()


async def test_many_concurrent_queries_all_get_a_connection_and_give_it_back(
    postgres: EmbeddedPostgres,
) -> None:
    pool = await create_pool(_settings(postgres, size=3, timeout_s=5))
    try:
        queries = (pool.fetchval("SELECT $1::int FROM pg_sleep(0.01)", n) for n in range(40))
        assert await asyncio.gather(*queries) == list(range(40))
        # Every connection came back and was counted back: three can be held again, and a fourth
        # caller is refused after the bound instead of waiting without one.
        async with pool.acquire(), pool.acquire(), pool.acquire():
            fourth = asyncio.create_task(pool.fetchval("SELECT 1"))
            await asyncio.wait({fourth}, timeout=120)  # a guard against a hang only
            assert fourth.done(), "the fourth checkout waited without a bound"
            assert isinstance(fourth.exception(), TimeoutError)
    finally:
        await pool.close()
