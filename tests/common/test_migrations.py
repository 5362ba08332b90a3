"""Migrations upgrade and downgrade on the embedded PostgreSQL, in a database of their own."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from anb_common.db.migrate import downgrade, upgrade
from anb_devstack.postgres import EmbeddedPostgres

TABLES = {"users", "videos", "votes", "player_scores", "outbox", "alembic_version"}


async def _tables(dsn: str) -> set[str]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {row["tablename"] for row in rows}
    finally:
        await connection.close()


async def test_upgrade_then_downgrade_then_upgrade(postgres: EmbeddedPostgres) -> None:
    name = f"migrations_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres.dsn)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    url = postgres.url.rsplit("/", 1)[0] + f"/{name}"
    dsn = postgres.dsn.rsplit("/", 1)[0] + f"/{name}"

    # Alembic's env runs its own event loop, so it is driven from a worker thread.
    await asyncio.to_thread(upgrade, url)
    assert await _tables(dsn) >= TABLES
    await asyncio.to_thread(downgrade, url)
    assert await _tables(dsn) == {"alembic_version"}
    await asyncio.to_thread(upgrade, url)
    assert await _tables(dsn) >= TABLES


async def test_vote_uniqueness_is_a_database_constraint(postgres: EmbeddedPostgres) -> None:
    connection = await asyncpg.connect(postgres.dsn)
    try:
        constraints = await connection.fetch(
            "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'votes'::regclass"
        )
        assert any(row["def"] == "UNIQUE (user_id, video_id)" for row in constraints)
    finally:
        await connection.close()
