"""Published videos, votes and the per-player ranking."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

import asyncpg


@dataclass(frozen=True)
class PublishedRow:
    id: uuid.UUID
    title: str
    username: str
    city: str
    votes: int
    processed_key: str


@dataclass(frozen=True)
class ScoreRow:
    username: str
    city: str
    votes: int


async def published(pool: asyncpg.Pool, city: str | None, limit: int, offset: int) -> list[PublishedRow]:
    # Walks ix_videos_published_votes (vote_count DESC, id) and stops after offset + limit rows.
    records = await pool.fetch(
        "SELECT v.id, v.title, u.first_name || ' ' || u.last_name AS username, u.city,"
        " v.vote_count AS votes, v.processed_key"
        " FROM videos v JOIN users u ON u.id = v.user_id"
        " WHERE v.published AND ($1::text IS NULL OR u.city = $1)"
        " ORDER BY v.vote_count DESC, v.id LIMIT $2 OFFSET $3",
        city,
        limit,
        offset,
    )
    return [PublishedRow(**dict(record.items())) for record in records]


class VoteOutcome(enum.Enum):
    COUNTED = "counted"
    DUPLICATE = "duplicate"
    NOT_FOUND = "not_found"


async def vote(pool: asyncpg.Pool, user_id: uuid.UUID, video_id: uuid.UUID) -> VoteOutcome:
    """One vote per user and video, held by the unique constraint even under concurrent requests;
    the video's and the player's totals move in the same transaction, so rankings never aggregate."""
    async with pool.acquire() as conn, conn.transaction():
        owner = await conn.fetchval("SELECT user_id FROM videos WHERE id = $1 AND published", video_id)
        if owner is None:
            return VoteOutcome.NOT_FOUND
        # A concurrent duplicate waits on the unique index until the first commits, then does nothing.
        inserted = await conn.fetchval(
            "INSERT INTO votes (id, user_id, video_id) VALUES ($1, $2, $3)"
            " ON CONFLICT (user_id, video_id) DO NOTHING RETURNING id",
            uuid.uuid4(),
            user_id,
            video_id,
        )
        if inserted is None:
            return VoteOutcome.DUPLICATE
        await conn.execute("UPDATE videos SET vote_count = vote_count + 1 WHERE id = $1", video_id)
        await conn.execute(
            "INSERT INTO player_scores (user_id, city, votes) SELECT id, city, 1 FROM users WHERE id = $1"
            " ON CONFLICT (user_id) DO UPDATE SET votes = player_scores.votes + 1",
            owner,
        )
    return VoteOutcome.COUNTED


async def rankings(pool: asyncpg.Pool, city: str | None, limit: int, offset: int) -> list[ScoreRow]:
    # Two statements rather than `$1 IS NULL OR city = $1`, so each gets the plan of its own index
    # (ix_player_scores_votes / ix_player_scores_city_votes) and stops after offset + limit rows.
    columns = "u.first_name || ' ' || u.last_name AS username, s.city, s.votes"
    if city is None:
        records = await pool.fetch(
            f"SELECT {columns} FROM player_scores s JOIN users u ON u.id = s.user_id"  # noqa: S608
            " ORDER BY s.votes DESC, s.user_id LIMIT $1 OFFSET $2",
            limit,
            offset,
        )
    else:
        records = await pool.fetch(
            f"SELECT {columns} FROM player_scores s JOIN users u ON u.id = s.user_id"  # noqa: S608
            " WHERE s.city = $1 ORDER BY s.votes DESC, s.user_id LIMIT $2 OFFSET $3",
            city,
            limit,
            offset,
        )
    return [ScoreRow(**dict(record.items())) for record in records]
