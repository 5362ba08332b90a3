"""Engine and session factory for asyncpg."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from anb_common.db import tls
from anb_common.settings import DatabaseSettings


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    return create_async_engine(
        settings.url,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_s,
        # A restarted or failed-over database leaves dead sockets in the pool; test them on checkout.
        pool_pre_ping=True,
        connect_args={
            "server_settings": {"statement_timeout": str(settings.statement_timeout_ms)},
            # Fail fast when the server is down instead of hanging a request.
            "timeout": 5,
            **tls.connect_args(settings),
        },
    )


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
