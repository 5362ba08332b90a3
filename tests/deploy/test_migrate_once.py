"""deploy/bootstrap/migrate_once.py: web instances booting together migrate a fresh database once and
leave each service's role with its grants (anb_common.db.grants), applied under the same lock."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import asyncpg
from alembic.script import ScriptDirectory

from anb_common.db import grants
from anb_common.db.migrate import alembic_config
from anb_devstack.postgres import EmbeddedPostgres

from .support import DEPLOY


async def _fresh_database(postgres: EmbeddedPostgres) -> tuple[str, str]:
    """A new empty database: its SQLAlchemy URL (as migrate_once.py takes it) and its libpq DSN."""
    database = f"deploy_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(postgres.dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
    finally:
        await admin.close()
    return postgres.url.rsplit("/", 1)[0] + f"/{database}", postgres.dsn.rsplit("/", 1)[0] + f"/{database}"


async def test_concurrent_bootstraps_leave_the_schema_at_head(postgres: EmbeddedPostgres) -> None:
    url, dsn = await _fresh_database(postgres)
    # As web.sh runs it: the master's URL, and the service roles' passwords for anb_common.db.grants.
    env = {
        **os.environ,
        "ANB_DB_URL": url,
        **{
            f"ANB_DB_ROLE_{role.service.upper()}_PASSWORD": f"{role.service}Password1"
            for role in grants.ROLES
        },
    }
    script = str(DEPLOY / "bootstrap" / "migrate_once.py")
    runs = [
        subprocess.Popen([sys.executable, script], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for _ in range(2)
    ]
    outputs = [run.communicate()[0].decode() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs

    connection = await asyncpg.connect(dsn)
    try:
        versions = await connection.fetch("SELECT version_num FROM alembic_version")
        tables = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
        # Each role exists and holds what grants.ROLES lists, and no more (tests/common/test_grants.py
        # checks every privilege; here: that the deployment's step applied them).
        privileges = {
            (role, table, privilege): await connection.fetchval(
                "SELECT has_table_privilege($1, $2, $3)", role, f"public.{table}", privilege
            )
            for role, table, privilege in [
                ("anb_gateway", "votes", "INSERT"),
                ("anb_ingest", "outbox", "SELECT"),
                ("anb_transcoder", "videos", "SELECT"),
                ("anb_transcoder", "users", "SELECT"),
                ("anb_ingest", "votes", "INSERT"),
                ("anb_gateway", "outbox", "SELECT"),
            ]
        }
        logins = await connection.fetch(
            "SELECT rolname FROM pg_roles WHERE rolcanlogin AND rolname = any($1::text[]) ORDER BY 1",
            [role.name for role in grants.ROLES],
        )
    finally:
        await connection.close()
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    assert [row["version_num"] for row in versions] == [head]
    assert tables > 1
    assert [row["rolname"] for row in logins] == sorted(role.name for role in grants.ROLES)
    assert privileges == {
        ("anb_gateway", "votes", "INSERT"): True,
        ("anb_ingest", "outbox", "SELECT"): True,
        ("anb_transcoder", "videos", "SELECT"): True,
        ("anb_transcoder", "users", "SELECT"): False,
        ("anb_ingest", "votes", "INSERT"): False,
        ("anb_gateway", "outbox", "SELECT"): False,
    }


async def test_a_missing_role_password_stops_before_anything_is_migrated(postgres: EmbeddedPostgres) -> None:
    url, dsn = await _fresh_database(postgres)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANB_DB_ROLE_")}
    env |= {"ANB_DB_URL": url, "ANB_DB_ROLE_GATEWAY_PASSWORD": "p1", "ANB_DB_ROLE_INGEST_PASSWORD": "p2"}
    run = subprocess.run(
        [sys.executable, str(DEPLOY / "bootstrap" / "migrate_once.py")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0
    assert "transcoder_password" in run.stderr
    connection = await asyncpg.connect(dsn)
    try:
        tables = await connection.fetchval(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )
    finally:
        await connection.close()
    assert tables == 0
