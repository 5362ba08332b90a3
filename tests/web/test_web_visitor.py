"""A visitor opens the gallery (the card shows the video's poster), filters by city, opens a video page
(its share tags carry the poster, scrubbing shows the storyboard's thumbnails) and the page's own player
plays it from ``hls_url`` through hls.js. The MP4 fallback is checked in test_web_player_media."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, expect
from site_kit import SCREENSHOTS, Published, Site, new_context


@pytest.mark.timeout(900)
async def test_visitor_filters_opens_and_plays(browser: Browser, site: Site, published: Published) -> None:
    context = await new_context(browser, site)
    try:
        page = await context.new_page()
        await page.goto("/")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Videos publicados")
        await page.get_by_label("Ciudad", exact=True).fill("Medellín")
        await page.get_by_role("button", name="Filtrar").click()
        await expect(page).to_have_url("/?city=Medell%C3%ADn")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Videos publicados de Medellín")
        card = page.locator(".card", has_text=published.title)
        await expect(card).to_contain_text(f"{published.owner.name} · Medellín")
        poster = card.locator("img.poster")
        await expect(poster).to_have_js_property("complete", True)
        assert await poster.evaluate("img => img.naturalWidth") == 1280
        await expect(card.locator(".count")).to_have_text("0 votos")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / "gallery.png", full_page=True)

        await card.get_by_role("link").click()
        await expect(page).to_have_url(f"/videos/{published.video_id}")
        await expect(page.get_by_role("heading", level=1)).to_have_text(published.title)
        og = {
            name: await page.locator(f'meta[property="og:{name}"]').get_attribute("content")
            for name in ("title", "type", "url", "video")
        }
        assert og["title"] == published.title
        assert og["type"] == "video.other"
        assert og["url"] == f"{site.url}/videos/{published.video_id}"
        assert og["video"] == f"{site.url}/videos/{published.video_id}/video.mp4"

        video = page.locator("video#player")
        assert await video.get_attribute("poster")
        og_image = page.locator('meta[property="og:image"]')
        assert await og_image.get_attribute("content") == f"{site.url}/videos/{published.video_id}/poster.jpg"
        # A chat's preview fetches that address: it leads to the JPEG.
        async with httpx.AsyncClient(follow_redirects=True, timeout=30) as client:
            picture = await client.get(f"{site.url}/videos/{published.video_id}/poster.jpg")
        assert picture.content.startswith(b"\xff\xd8"), picture.status_code

        scrub = page.get_by_label("Posición en el video")
        await expect(scrub).to_be_visible()
        await scrub.hover()
        preview = page.locator("#scrub-preview")
        await expect(preview).to_be_visible()
        assert "url(" in await preview.evaluate("node => node.style.backgroundImage")

        assert await video.get_attribute("data-hls")
        await video.evaluate("v => { v.muted = true; return v.play(); }")
        await page.wait_for_function(
            "() => document.getElementById('player').currentTime >= 2", timeout=60_000
        )
        # The playlist played through hls.js (MediaSource), not the MP4.
        assert await video.get_attribute("data-engine") == "hls.js"
        assert await video.evaluate("v => v.src.startsWith('blob:')")
    finally:
        await context.close()
