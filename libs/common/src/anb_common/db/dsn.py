"""The two spellings of one database address: SQLAlchemy's (driver in the scheme) and libpq's.

Settings hold the SQLAlchemy URL (``postgresql+asyncpg://…``) because ingest, the transcoder and the
migrations use SQLAlchemy; the gateway and the tools talk to asyncpg directly, which wants libpq's.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url


def libpq_url(sqlalchemy_url: str) -> str:
    """``postgresql+asyncpg://u:p@h/db?x=y`` as ``postgresql://u:p@h/db?x=y`` (password kept)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
