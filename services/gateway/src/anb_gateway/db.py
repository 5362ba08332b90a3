"""The gateway's connection pool: asyncpg directly, because every public read is one short query and
SQLAlchemy's per-statement overhead (plus a pre-ping round trip per checkout) would double its cost."""

from __future__ import annotations

import asyncio
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from anb_common.db import tls
from anb_common.db.dsn import libpq_url
from anb_common.settings import DatabaseSettings

# Generic in asyncpg's stubs only: subscripted at runtime it raises TypeError.
Connection: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"


class Pool:
    """asyncpg's pool, where a checkout waits at most ``acquire_timeout_s`` for a connection.

    asyncpg's own ``fetch``/``execute`` check a connection out with no time limit (their ``timeout``
    bounds the query only), so with every connection busy, requests queued without bound while
    clients and the load balancer gave up on them. Past the bound the checkout raises TimeoutError,
    which the error handlers answer with 503 and ``Retry-After``.

    Only a checkout that may wait is timed: ``_takers`` counts connections out plus callers waiting,
    and while it is within the pool's size a free connection (or a free slot to open one, bounded by
    the connect timeout) is certain. Timing every checkout (a timer per request, or asyncpg's
    ``acquire(timeout=)``, a task per request) cost more than the rest of the checkout.
    """

    def __init__(self, pool: asyncpg.Pool, max_size: int, acquire_timeout_s: float) -> None:
        self._pool = pool
        self._max_size = max_size
        self._acquire_timeout_s = acquire_timeout_s
        self._takers = 0

    def acquire(self) -> _Checkout:
        return _Checkout(self)

    async def _take(self) -> Connection:
        self._takers += 1
        try:
            if self._takers <= self._max_size:
                return await self._pool.acquire()
            async with asyncio.timeout(self._acquire_timeout_s):
                return await self._pool.acquire()
        except BaseException:
            self._takers -= 1
            raise

    async def _give(self, connection: Connection) -> None:
        try:
            await self._pool.release(connection)
        finally:
            # Only once the connection is back: until then it is not free for a caller that does not wait.
            self._takers -= 1

    async def fetch(self, query: str, *args: Any) -> list[asyncpg.Record]:
        async with _Checkout(self) as connection:
            return await connection.fetch(query, *args)

    async def fetchrow(self, query: str, *args: Any) -> asyncpg.Record | None:
        async with _Checkout(self) as connection:
            return await connection.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with _Checkout(self) as connection:
            return await connection.fetchval(query, *args)

    async def execute(self, query: str, *args: Any) -> str:
        async with _Checkout(self) as connection:
            return await connection.execute(query, *args)

    async def close(self) -> None:
        await self._pool.close()


class _Checkout:
    """``async with pool.acquire() as connection``: a class, not a generator, for its lower cost."""

    __slots__ = ("_connection", "_pool")

    def __init__(self, pool: Pool) -> None:
        self._pool = pool

    async def __aenter__(self) -> Connection:
        self._connection = await self._pool._take()
        return self._connection

    async def __aexit__(self, *exc: object) -> None:
        await self._pool._give(self._connection)


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Release without the default reset query: the gateway sets no session state (no SET, LISTEN,
    advisory locks or cursors), so that query would only add a second round trip to every request.
    asyncpg still rolls back a transaction left open before this is called."""


async def create_pool(settings: DatabaseSettings) -> Pool:
    max_size = settings.pool_size + settings.max_overflow
    pool = await asyncpg.create_pool(
        libpq_url(settings.url),
        # Nothing is opened at start-up: the gateway comes up (health 503) while the database is down.
        min_size=0,
        max_size=max_size,
        # A dead server must fail a request in seconds, not hang it.
        timeout=settings.pool_timeout_s,
        command_timeout=settings.statement_timeout_ms / 1000 + 1,
        # JIT compiles plans of "expensive" queries; for these short index scans it only adds milliseconds.
        server_settings={"statement_timeout": str(settings.statement_timeout_ms), "jit": "off"},
        # Connections that sat idle past a load-balancer or RDS idle timeout are replaced, not reused.
        max_inactive_connection_lifetime=300,
        reset=_keep_session,
        ssl=tls.client_context(settings),
    )
    return Pool(pool, max_size, settings.pool_timeout_s)
