"""The SQLAlchemy URL in settings, spelled for asyncpg/libpq."""

from __future__ import annotations

import pytest

from anb_common.db.dsn import libpq_url


@pytest.mark.parametrize(
    ("sqlalchemy_url", "libpq"),
    [
        ("postgresql+asyncpg://postgres@127.0.0.1:5432/anb", "postgresql://postgres@127.0.0.1:5432/anb"),
        (
            "postgresql+asyncpg://u:p%40ss@db:5432/anb?ssl=verify-full",
            "postgresql://u:p%40ss@db:5432/anb?ssl=verify-full",
        ),
        ("postgresql://already@h/db", "postgresql://already@h/db"),
    ],
)
def test_libpq_url(sqlalchemy_url: str, libpq: str) -> None:
    assert libpq_url(sqlalchemy_url) == libpq
