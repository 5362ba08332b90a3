"""Which failures the gateway answers with 503 "try again" (the database is away) rather than 500."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from anb_common.db.dsn import libpq_url
from anb_devstack.postgres import EmbeddedPostgres
from anb_gateway.errors import DATABASE_OUTAGES


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError(),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        # Raised by asyncpg when PostgreSQL's fast shutdown ends a session mid-query (seen in
        # tests/faults/test_outages.py as a 500 before it was listed).
        asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in progress"),
    ],
)
def test_a_database_going_away_is_an_outage(error: Exception) -> None:
    assert isinstance(error, DATABASE_OUTAGES)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug of ours"),
        KeyError("missing"),
        asyncpg.exceptions.UndefinedColumnError("column does not exist"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
    ],
)
def test_bugs_and_query_errors_are_not_outages(error: Exception) -> None:
    assert not isinstance(error, DATABASE_OUTAGES)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.OutOfMemoryError("out of memory"),
        asyncpg.exceptions.DiskFullError("could not extend file"),
    ],
)
def test_a_server_out_of_resources_is_an_outage(error: Exception) -> None:
    # SQLSTATE class 53: the server cannot take the work now; the same request may pass later.
    assert isinstance(error, DATABASE_OUTAGES)


async def test_a_real_refused_connection_for_too_many_clients_is_an_outage(
    postgres: EmbeddedPostgres,
) -> None:
    # The real thing: PostgreSQL refuses a role past its connection limit with SQLSTATE 53300.
    url = libpq_url(postgres.url)
    role = f"anb_limited_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
        with pytest.raises(asyncpg.PostgresError) as refused:
            await asyncpg.connect(url.replace("postgres@", f"{role}@", 1))
        assert refused.value.sqlstate == "53300"
        assert isinstance(refused.value, DATABASE_OUTAGES)
    finally:
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.close()
