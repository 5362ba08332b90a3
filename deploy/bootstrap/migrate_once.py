"""Apply the schema migrations and the service roles' grants while holding a PostgreSQL advisory lock.

Web instances booting together (first deployment, a scale-out during a release) would otherwise run
Alembic concurrently; with the lock the first one migrates and the others find the schema at head.
Then, on the same session and still under the lock, ``anb_common.db.grants.apply`` creates (or
re-passwords) one login role per service with exactly the privileges its queries use, revoking any
other in the same transaction; every boot converges to the same grants.

Run by web.sh with the ingest virtualenv's python, ``ANB_DB_URL`` = the master login (the one that
owns the schema and may create roles), ``ANB_DB_SSL_ROOT_CERT`` = the release's RDS CA bundle (TLS with
the server verified, as every service connects) and ``ANB_DB_ROLE_{GATEWAY,INGEST,TRANSCODER}_PASSWORD``
= the ``password`` field of each service's database secret.
"""

from __future__ import annotations

import asyncio

import asyncpg

from anb_common.db import grants, tls
from anb_common.db.migrate import upgrade
from anb_common.settings import DatabaseSettings

# Any constant works as long as every release uses the same one.
_MIGRATION_LOCK = 0x616E62


async def migrate_once(settings: DatabaseSettings, passwords: grants.ServicePasswords) -> None:
    url = settings.url
    connection = await asyncpg.connect(
        url.replace("postgresql+asyncpg://", "postgresql://", 1), ssl=tls.client_context(settings)
    )
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK)
        # Alembic's env runs its own event loop, so it must run outside this one.
        await asyncio.to_thread(upgrade, url)
        await grants.apply(connection, passwords)
    finally:
        # Closing the session releases the advisory lock.
        await connection.close()


if __name__ == "__main__":
    # The passwords are read first: a missing one stops the step before anything is migrated.
    role_passwords = grants.ServicePasswords()
    asyncio.run(migrate_once(DatabaseSettings(), role_passwords))
