"""The two reads the API has no endpoint for: a published video's player and city (for its page),
and the cities that have players in the ranking (for the filters)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from anb_gateway.db import Pool


@dataclass(frozen=True)
class VideoOwner:
    user_id: uuid.UUID
    published: bool
    username: str
    city: str


async def video_owner(pool: Pool, video_id: uuid.UUID) -> VideoOwner | None:
    record = await pool.fetchrow(
        "SELECT v.user_id, v.published, u.first_name || ' ' || u.last_name AS username, u.city"
        " FROM videos v JOIN users u ON u.id = v.user_id WHERE v.id = $1",
        video_id,
    )
    return VideoOwner(*record) if record else None


async def ranked_cities(pool: Pool, most: int = 200) -> list[str]:
    # A loose index scan of ix_player_scores_city_votes: one probe per city, not a pass over 100k rows.
    records = await pool.fetch(
        "WITH RECURSIVE c(city) AS ("
        "  (SELECT city FROM player_scores ORDER BY city LIMIT 1)"
        "  UNION ALL"
        "  SELECT (SELECT city FROM player_scores WHERE city > c.city ORDER BY city LIMIT 1)"
        "  FROM c WHERE c.city IS NOT NULL"
        ") SELECT city FROM c WHERE city IS NOT NULL LIMIT $1",
        most,
    )
    return [record["city"] for record in records]
