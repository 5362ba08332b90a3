"""A league at the issue's scale: 100k players, each with one published video, and 1M votes.

Votes are skewed (a few players collect many, most a handful) so that the ranking has a real order
instead of 100k ties; the per-player totals are then written as the vote path keeps them.
"""

from __future__ import annotations

import asyncpg

PLAYERS = 100_000
VOTES_PER_VOTER = 10  # every player votes 10 distinct videos: 1M votes
CITIES = ("Bogotá", "Medellín", "Cali", "Barranquilla", "Cartagena", "Bucaramanga", "Pereira", "Manizales")


def _uuid(prefix: str, column: str) -> str:
    return f"('{prefix}' || lpad(to_hex({column}), 12, '0'))::uuid"


_USER = _uuid("00000000-0000-4000-8000-", "{}")
_VIDEO = _uuid("00000000-0000-4000-9000-", "{}")

STATEMENTS = [
    "INSERT INTO users (id, first_name, last_name, email, password_hash, city, country)"
    f" SELECT {_USER.format('i')}, 'Jugador', 'N' || i, 'bench' || i || '@bench.example', 'x',"
    " ($2::text[])[1 + i % array_length($2::text[], 1)], 'Colombia' FROM generate_series(1, $1::int) AS i",
    # With the derivatives a processed video has (#17): each card of the gallery presigns its poster.
    "INSERT INTO videos (id, user_id, title, status, published, original_key, processed_key, poster_key,"
    " storyboard_key, hls_key, container, codec, size_bytes, duration_s, width, height, checksum_sha256,"
    " progress, processed_at)"
    f" SELECT {_VIDEO.format('i')}, {_USER.format('i')}, 'Jugada ' || i, 'processed', true,"
    " 'uploads/bench.mp4', 'processed/bench.mp4', 'processed/bench/poster-1.jpg',"
    " 'processed/bench/storyboard.vtt', 'processed/bench/hls/hls.m3u8', 'mp4', 'h264', 1, 30, 1920, 1080,"
    " repeat('0', 64), 100, now() FROM generate_series(1, $1::int) AS i",
    # Voter i picks 10 distinct videos at a fixed stride from a base skewed towards low numbers.
    "INSERT INTO votes (id, user_id, video_id)"
    f" SELECT gen_random_uuid(), {_USER.format('b.i')},"
    f" {_VIDEO.format('1 + (b.base + k * (1 + b.i % 97)) % $1::int')}"
    " FROM (SELECT i, floor(power(random(), 3) * $1::int)::int AS base"
    "       FROM generate_series(1, $1::int) AS i) AS b, generate_series(1, $2::int) AS k",
    "UPDATE videos v SET vote_count = c.n"
    " FROM (SELECT video_id, count(*) AS n FROM votes GROUP BY video_id) AS c WHERE v.id = c.video_id",
    "INSERT INTO player_scores (user_id, city, votes)"
    " SELECT v.user_id, u.city, v.vote_count FROM videos v JOIN users u ON u.id = v.user_id"
    " WHERE v.published AND v.id::text LIKE '00000000-0000-4000-9000-%'",
]


async def seed(dsn: str) -> dict[str, int]:
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(STATEMENTS[0], PLAYERS, list(CITIES))
        await connection.execute(STATEMENTS[1], PLAYERS)
        await connection.execute(STATEMENTS[2], PLAYERS, VOTES_PER_VOTER)
        await connection.execute(STATEMENTS[3])
        await connection.execute(STATEMENTS[4])
        await connection.execute("VACUUM ANALYZE")
        return {
            "players": await connection.fetchval("SELECT count(*) FROM player_scores"),
            "votes": await connection.fetchval("SELECT count(*) FROM votes"),
        }
    finally:
        await connection.close()
