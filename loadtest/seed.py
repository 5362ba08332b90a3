"""What the web-tier users need before the clock starts: accounts, and videos to look at and vote on.

Accounts are signed up through the API (Argon2id hashing is the point of signup, and not what the web
test measures). Each account then owns one processed video, inserted straight into the database: with
no transcoder running (the web tier is tested with processing decoupled) nothing would ever become
processed or publishable otherwise. Half of them are published, so the public list, votes and
rankings work on real rows.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import httpx

PASSWORD = "load-password-1"  # noqa: S105 - throwaway accounts on a local test platform
CITIES = ["Bogotá", "Medellín", "Cali", "Barranquilla", "Cartagena"]


async def _signup(client: httpx.AsyncClient, index: int, gate: asyncio.Semaphore) -> dict[str, str]:
    email = f"load-{uuid.uuid4().hex[:12]}@example.com"
    body = {
        "first_name": f"Jugador{index}",
        "last_name": "Carga",
        "email": email,
        "password1": PASSWORD,
        "password2": PASSWORD,
        "city": CITIES[index % len(CITIES)],
        "country": "Colombia",
    }
    async with gate:
        response = await client.post("/auth/signup", json=body)
    response.raise_for_status()
    return {"email": email, "password": PASSWORD, "user_id": response.json()["user_id"]}


async def _insert_videos(db_url: str, accounts: list[dict[str, str]]) -> list[str]:
    published: list[str] = []
    connection = await asyncpg.connect(db_url)
    try:
        for index, account in enumerate(accounts):
            video_id = uuid.uuid4()
            account["video_id"] = str(video_id)
            is_public = index % 2 == 0
            await connection.execute(
                "INSERT INTO videos (id, user_id, title, status, published, processing_started_at,"
                " processed_at, progress, original_key, processed_key, container, codec, size_bytes,"
                " duration_s, width, height, checksum_sha256, vote_count)"
                " VALUES ($1, $2, $3, 'processed', $4, now(), now(), 100, $5, $6, 'mp4', 'h264',"
                " 5000000, 40.0, 1920, 1080, $7, 0)",
                video_id,
                uuid.UUID(account["user_id"]),
                f"Jugada {index}",
                is_public,
                f"uploads/{video_id}.mp4",
                f"processed/{video_id}.mp4",
                "0" * 64,
            )
            if is_public:
                published.append(str(video_id))
    finally:
        await connection.close()
    return published


async def seed(api: str, db_url: str, accounts: int, clip: Path) -> dict[str, object]:
    """The data the locustfile reads (from the file named by ``ANB_LT_DATA``)."""
    # A few signups at a time: each costs an Argon2id hash on the gateway's single core.
    gate = asyncio.Semaphore(4)
    async with httpx.AsyncClient(base_url=api, timeout=120) as client:
        made = await asyncio.gather(*(_signup(client, index, gate) for index in range(accounts)))
    published = await _insert_videos(db_url.replace("postgresql+asyncpg://", "postgresql://"), list(made))
    return {"accounts": made, "published": published, "cities": CITIES, "clip": str(clip)}
