"""TLS to PostgreSQL with the server's certificate verified: chain and host name.

RDS serves TLS, but asyncpg's default (libpq's ``prefer``) encrypts without checking who answers, so
anyone on the path could present a certificate of their own. With ``ANB_DB_SSL_ROOT_CERT`` naming the
CA bundle (the RDS bundle ships in the release), every connection — SQLAlchemy's pools, the gateway's
asyncpg pool and its change feed, the migrations — requires TLS, a chain to that bundle and a
certificate issued for the host in the URL; anything else is refused before a password is sent.
"""

from __future__ import annotations

import ssl

from anb_common.settings import DatabaseSettings


def client_context(settings: DatabaseSettings) -> ssl.SSLContext | None:
    """The context every connection passes as asyncpg's ``ssl``; None when no bundle is set."""
    if settings.ssl_root_cert is None:
        return None
    # create_default_context verifies the chain (CERT_REQUIRED) and the host name, TLS 1.2 at least.
    return ssl.create_default_context(cafile=str(settings.ssl_root_cert))


def connect_args(settings: DatabaseSettings) -> dict[str, object]:
    """asyncpg's connect arguments for TLS, as SQLAlchemy's ``connect_args`` takes them."""
    context = client_context(settings)
    return {} if context is None else {"ssl": context}
