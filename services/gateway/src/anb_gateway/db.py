"""The gateway's connection pool: asyncpg directly, because every public read is one short query and
SQLAlchemy's per-statement overhead (plus a pre-ping round trip per checkout) would double its cost."""

from __future__ import annotations

import asyncpg

from anb_common.db.dsn import libpq_url
from anb_common.settings import DatabaseSettings

Pool = asyncpg.Pool


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Release without the default reset query: the gateway sets no session state (no SET, LISTEN,
    advisory locks or cursors), so that query would only add a second round trip to every request.
    asyncpg still rolls back a transaction left open before this is called."""


async def create_pool(settings: DatabaseSettings) -> Pool:
    return await asyncpg.create_pool(
        libpq_url(settings.url),
        # Nothing is opened at start-up: the gateway comes up (health 503) while the database is down.
        min_size=0,
        max_size=settings.pool_size + settings.max_overflow,
        # A dead server must fail a request in seconds, not hang it.
        timeout=settings.pool_timeout_s,
        command_timeout=settings.statement_timeout_ms / 1000 + 1,
        # JIT compiles plans of "expensive" queries; for these short index scans it only adds milliseconds.
        server_settings={"statement_timeout": str(settings.statement_timeout_ms), "jit": "off"},
        # Connections that sat idle past a load-balancer or RDS idle timeout are replaced, not reused.
        max_inactive_connection_lifetime=300,
        reset=_keep_session,
    )
