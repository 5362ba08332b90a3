"""Alembic environment: runs migrations on the async engine of the configured URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from anb_common.db import tls
from anb_common.db.models import Base
from anb_common.settings import DatabaseSettings

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    # The URL is the caller's (often the master login); TLS follows ANB_DB_SSL_ROOT_CERT like every service.
    engine = create_async_engine(
        context.config.get_main_option("sqlalchemy.url") or "",
        connect_args=tls.connect_args(DatabaseSettings()),
    )
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def _run_online() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(_run_async())
        return
    raise RuntimeError("run migrations from synchronous code (or a worker thread), not inside an event loop")


_run_online()
