"""Which failures the gateway answers with 503 "try again" (the database is away) rather than 500."""

from __future__ import annotations

import asyncpg
import pytest

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
