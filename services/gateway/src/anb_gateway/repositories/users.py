"""Users: creation and the lookups that login needs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from anb_gateway.db import Pool


class DuplicateEmail(Exception):
    """Another account has this email (compared case-insensitively by a unique index)."""


@dataclass(frozen=True)
class NewUser:
    first_name: str
    last_name: str
    email: str
    password_hash: str
    city: str
    country: str


async def create(pool: Pool, user: NewUser) -> uuid.UUID:
    user_id = uuid.uuid4()
    try:
        await pool.execute(
            "INSERT INTO users (id, first_name, last_name, email, password_hash, city, country)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7)",
            user_id,
            user.first_name,
            user.last_name,
            user.email,
            user.password_hash,
            user.city,
            user.country,
        )
    except asyncpg.UniqueViolationError as exc:
        raise DuplicateEmail(user.email) from exc
    return user_id


async def credentials(pool: Pool, email: str) -> tuple[uuid.UUID, str] | None:
    """The id and password hash of the account with this email, matched like the unique index."""
    row = await pool.fetchrow("SELECT id, password_hash FROM users WHERE lower(email) = lower($1)", email)
    return (row["id"], row["password_hash"]) if row else None


async def replace_hash(pool: Pool, user_id: uuid.UUID, password_hash: str) -> None:
    await pool.execute("UPDATE users SET password_hash = $2 WHERE id = $1", user_id, password_hash)
