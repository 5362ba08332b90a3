"""deploy/bootstrap/migrate_once.py: web instances booting together migrate a fresh database once."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import asyncpg
from alembic.script import ScriptDirectory

from anb_common.db.migrate import alembic_config
from anb_devstack.postgres import EmbeddedPostgres

from .support import DEPLOY


async def test_concurrent_bootstraps_leave_the_schema_at_head(postgres: EmbeddedPostgres) -> None:
    database = f"deploy_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres.dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    url = postgres.url.rsplit("/", 1)[0] + f"/{database}"
    env = {**os.environ, "ANB_DB_URL": url}
    script = str(DEPLOY / "bootstrap" / "migrate_once.py")
    runs = [
        subprocess.Popen([sys.executable, script], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [run.communicate()[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs

    connection = await asyncpg.connect(postgres.dsn.rsplit("/", 1)[0] + f"/{database}")
    try:
        versions = await connection.fetch("SELECT version_num FROM alembic_version")
        tables = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await connection.close()
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert [row["version_num"] for row in versions] == [head]
    assert tables > 1
