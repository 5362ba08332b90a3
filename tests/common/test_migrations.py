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


async def test_a_video_takes_its_owners_city_from_the_database(postgres: EmbeddedPostgres) -> None:
    connection = await asyncpg.connect(postgres.dsn)
    try:
        user_id, video_id = uuid.uuid4(), uuid.uuid4()
        await connection.execute(
            "INSERT INTO users (id, first_name, last_name, email, password_hash, city, country)"
            " VALUES ($1, 'Ana', 'Paz', $2, 'x', 'Tunja', 'Colombia')",
            user_id, f"ana-{user_id.hex[:8]}@example.com",
        )  # fmt: skip
        # Inserted without the city, as ingest does: the database copies it from the owner.
        await connection.execute(
            "INSERT INTO videos (id, user_id, title, status, original_key, container, codec, size_bytes,"
            " duration_s, width, height, checksum_sha256) VALUES ($1, $2, 't', 'uploaded', 'k', 'mp4',"
            " 'h264', 1, 30, 1920, 1080, $3)",
            video_id, user_id, "0" * 64,
        )  # fmt: skip
        assert await connection.fetchval("SELECT owner_city FROM videos WHERE id = $1", video_id) == "Tunja"
    finally:
        await connection.close()
