"""What PostgreSQL being away looks like through asyncpg, for every service that tells an outage
(answer 503, retry later, log one line) from a bug.

A refused or dropped connection, a server shutting down or starting up (class 57 "operator
intervention"), and asyncpg's own state errors when the server ends a session in the middle of a
query ("cannot switch to state 12; another operation is in progress", MagicStack/asyncpg#1069: seen
here when PostgreSQL was restarted under load). Also a server out of resources (class 53
"insufficient resources": too many connections, out of memory, disk full): the work is refused now
and may pass in a moment, so it is an outage to retry, not a bug.
"""

from __future__ import annotations

import asyncpg

ASYNCPG_OUTAGES: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
)
