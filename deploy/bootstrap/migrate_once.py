"""Apply the schema migrations while holding a PostgreSQL advisory lock.

Web instances booting together (first deployment, a scale-out during a release) would otherwise run
Alembic concurrently; with the lock the first one migrates and the others find the schema at head.
Run by web.sh with the ingest virtualenv's python and ANB_DB_URL in the environment.
"""

from __future__ import annotations

import asyncio

import asyncpg

from anb_common.db.migrate import upgrade
from anb_common.settings import DatabaseSettings

# Any constant works as long as every release uses the same one.
_MIGRATION_LOCK = 0x616E62


async def migrate_once(url: str) -> None:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        # Alembic's env runs its own event loop, so it must run outside this one.
        await asyncio.to_thread(upgrade, url)
    finally:
        # Closing the session releases the advisory lock.
        await connection.close()


if __name__ == "__main__":
    asyncio.run(migrate_once(DatabaseSettings().url))
