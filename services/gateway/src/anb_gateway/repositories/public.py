"""Published videos, votes and the per-player ranking."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass

from anb_gateway.db import Pool


@dataclass(frozen=True)
class PublishedRow:
    id: uuid.UUID
    title: str
    username: str
    city: str
    votes: int
    processed_key: str
    poster_key: str | None
    storyboard_key: str | None
    hls_key: str | None


@dataclass(frozen=True)
class ScoreRow:
    username: str
    city: str
    votes: int


async def published(pool: Pool, city: str | None, limit: int, offset: int) -> list[PublishedRow]:
    columns = (
        "v.id, v.title, u.first_name || ' ' || u.last_name AS username, u.city,"
        " v.vote_count AS votes, v.processed_key, v.poster_key, v.storyboard_key, v.hls_key"
    )
    if city is None:
        # The page is cut from ix_videos_published_votes alone (index-only), then joined: joining
        # first would read every skipped video's row and its owner (16 ms at offset 1000 of 100k).
        records = await pool.fetch(
            f"SELECT {columns} FROM (SELECT id FROM videos WHERE published"  # noqa: S608 - fixed columns
            "   ORDER BY vote_count DESC, id LIMIT $1 OFFSET $2) AS page"
            " JOIN videos v ON v.id = page.id JOIN users u ON u.id = v.user_id"
            " ORDER BY v.vote_count DESC, v.id",
            limit,
            offset,
        )
    else:
        # The same, cut from ix_videos_published_city_votes (the owner's city is on the video).
        records = await pool.fetch(
            f"SELECT {columns} FROM (SELECT id FROM videos WHERE published AND owner_city = $1"  # noqa: S608
            "   ORDER BY vote_count DESC, id LIMIT $2 OFFSET $3) AS page"
            " JOIN videos v ON v.id = page.id JOIN users u ON u.id = v.user_id"
            " ORDER BY v.vote_count DESC, v.id",
            city,
            limit,
            offset,
        )
    return [PublishedRow(**dict(record.items())) for record in records]


class VoteOutcome(enum.Enum):
    COUNTED = "counted"
    DUPLICATE = "duplicate"
    NOT_FOUND = "not_found"


async def vote(pool: Pool, user_id: uuid.UUID, video_id: uuid.UUID) -> VoteOutcome:
    """One vote per user and video, held by the unique constraint even under concurrent requests;
    the video's and the player's totals move in the same transaction, so rankings never aggregate."""
    async with pool.acquire() as conn, conn.transaction():
        # FOR KEY SHARE: a deletion of the row (repositories.videos.delete) waits for this vote and
        # takes it back from the score, or this vote waits for the deletion and finds no video; read
        # plainly, the insert below would hit the row's deletion as a foreign-key violation.
        owner = await conn.fetchval(
            "SELECT user_id FROM videos WHERE id = $1 AND published FOR KEY SHARE", video_id
        )
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


async def rankings(pool: Pool, city: str | None, limit: int, offset: int) -> list[ScoreRow]:
    # The page is cut from the index alone (an index-only scan of ix_player_scores_votes or
    # ix_player_scores_city_votes), and only its rows are joined to users: joining before the OFFSET
    # would look up every skipped player too. Two statements rather than `$1 IS NULL OR city = $1`,
    # so that each keeps the plan of its own index.
    if city is None:
        records = await pool.fetch(
            "SELECT u.first_name || ' ' || u.last_name AS username, u.city, page.votes"
            " FROM (SELECT user_id, votes FROM player_scores ORDER BY votes DESC, user_id"
            "       LIMIT $1 OFFSET $2) AS page"
            " JOIN users u ON u.id = page.user_id ORDER BY page.votes DESC, page.user_id",
            limit,
            offset,
        )
    else:
        records = await pool.fetch(
            "SELECT u.first_name || ' ' || u.last_name AS username, page.city, page.votes"
            " FROM (SELECT user_id, city, votes FROM player_scores WHERE city = $1"
            "       ORDER BY votes DESC, user_id LIMIT $2 OFFSET $3) AS page"
            " JOIN users u ON u.id = page.user_id ORDER BY page.votes DESC, page.user_id",
            city,
            limit,
            offset,
        )
    return [ScoreRow(**dict(record.items())) for record in records]
