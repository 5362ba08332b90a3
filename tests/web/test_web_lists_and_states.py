"""The gallery pages through a city's videos, most voted first, and a fan votes from it; "my videos"
shows a failure and its reason as it happens; logging out ends the session.

The rows are written straight into the platform's database (a transcode per video would cost minutes):
the pages read them through the API as they read any video, and a status written to the table reaches
the page through the same notification the transcoder's writes cause.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest
from playwright.async_api import Browser, expect
from site_kit import Site, api_account, new_context

from anb_common.reasons import ProcessingFailure, Reason, encode
from anb_gateway import wording
from anb_gateway.web.visitors import PAGE_SIZE

CITY = "Tunja"
_VIDEO = (
    "INSERT INTO videos (id, user_id, title, status, progress, published, vote_count, processed_key,"
    " processed_at, original_key, container, codec, size_bytes, duration_s, width, height, checksum_sha256)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'mp4', 'h264', 1, 30, 1920, 1080, repeat('0', 64))"
)


@pytest.fixture
async def db(site: Site) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(site.platform.db_url.replace("+asyncpg", ""))
    try:
        yield connection
    finally:
        await connection.close()


async def _video(
    db: asyncpg.Connection, owner: uuid.UUID, title: str, status: str, *, progress: int = 0, votes: int = 0
) -> uuid.UUID:
    video = uuid.uuid4()
    processed = status == "processed"
    await db.execute(
        _VIDEO, video, owner, title, status, progress, processed, votes,
        f"processed/{video}.mp4" if processed else None, datetime.now(UTC) if processed else None,
        f"uploads/{video}.mp4",
    )  # fmt: skip
    return video


async def test_the_gallery_pages_a_citys_videos_most_voted_first(
    browser: Browser, site: Site, db: asyncpg.Connection
) -> None:
    owner = uuid.uuid4()
    await db.execute(
        "INSERT INTO users (id, first_name, last_name, email, password_hash, city, country)"
        " VALUES ($1, 'Samuel', 'Niño', $2, 'x', $3, 'Colombia')",
        owner, f"samuel-{owner.hex}@example.com", CITY,
    )  # fmt: skip
    count = PAGE_SIZE + 1
    for votes in range(1, count + 1):  # inserted least voted first: the order shown is the API's
        await _video(db, owner, f"Jugada {votes}", "processed", progress=100, votes=votes)
    context = await new_context(browser, site)
    try:
        page = await context.new_page()
        await page.goto(f"/?city={CITY}")
        titles = page.locator(".card .card-title")
        await expect(titles).to_have_text([f"Jugada {votes}" for votes in range(count, 1, -1)])
        await expect(page.locator(".card").first.locator(".count")).to_have_text(f"{count} votos")
        await page.get_by_role("navigation", name="Páginas").get_by_role("link", name="Siguiente").click()
        await expect(page).to_have_url(f"/?city={CITY}&page=2")
        await expect(titles).to_have_text(["Jugada 1"])
        await expect(page.locator(".card .count")).to_have_text("1 voto")
        await expect(page.get_by_role("link", name="Siguiente")).to_have_count(0)
        await page.get_by_role("link", name="Anterior").click()
        await expect(titles).to_have_count(PAGE_SIZE)

        # A fan with a session votes from the gallery itself: the card's count changes in place.
        fan = await api_account(site, "Tomás", "Rincón", "Neiva")
        await context.add_cookies([{"name": "anb_session", "value": fan.token, "url": site.url}])
        await page.goto(f"/?city={CITY}&page=2")
        votes = page.locator(".card", has_text="Jugada 1").locator(".votes")
        await votes.get_by_role("button", name="Votar por «Jugada 1»").click()
        await expect(votes.locator(".said")).to_have_text("Voto registrado exitosamente.")
        await expect(votes.locator(".count")).to_have_text("2 votos")
        await expect(page).to_have_url(f"/?city={CITY}&page=2")
    finally:
        await context.close()


async def test_a_failure_shows_live_with_its_reason_then_logging_out_ends_the_session(
    browser: Browser, site: Site, db: asyncpg.Connection
) -> None:
    account = await api_account(site, "Sara", "Londoño", "Manizales")
    owner = uuid.UUID(await db.fetchval("SELECT id::text FROM users WHERE email = $1", account.email))
    video = await _video(db, owner, "Contraataque", "processing", progress=40)
    context = await new_context(browser, site)
    try:
        await context.add_cookies([{"name": "anb_session", "value": account.token, "url": site.url}])
        page = await context.new_page()
        await page.goto("/my-videos")
        status = page.locator(f"#video-{video} [data-status-text]")
        await expect(status).to_have_text("Procesando 40 %")
        await expect(page.locator("#my-videos")).to_have_attribute("data-feed", "events")
        await page.evaluate("window.__sameDocument = true")

        reason = encode(Reason(ProcessingFailure.DAMAGED, {}))
        await db.execute(
            "UPDATE videos SET status = 'failed', failure_reason = $2 WHERE id = $1", video, reason
        )
        await expect(status).to_have_text(f"Falló: {wording.processing_failure(reason)}")
        assert await page.evaluate("window.__sameDocument === true")  # no reload

        await page.get_by_role("button", name="Salir").click()
        await expect(page.get_by_role("status")).to_have_text("Saliste de tu cuenta.")
        await expect(page.get_by_role("link", name="Entrar")).to_be_visible()
        assert not [cookie for cookie in await context.cookies() if cookie["name"] == "anb_session"]
        await page.goto("/my-videos")
        await expect(page).to_have_url("/login?next=/my-videos")
    finally:
        await context.close()
