"""axe-core (pinned in services/gateway/web-vendor, served to the page by the test) finds no serious
or critical violation on any page, on a 360x740 phone and a 1280x800 desktop; nothing is wider than
the phone's screen but a box that scrolls (the rankings' table, kept wide by a long name)."""

from __future__ import annotations

import uuid
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, BrowserContext, Route
from site_kit import DESKTOP, PHONE, Published, Site, new_context

AXE_PATH = "/__test__/axe.min.js"
CITY = "San José de Cúcuta"
PUBLIC = ["/", "/?city=Medell%C3%ADn", "/rankings", "/signup", "/login", "/no-such-video-page/"]


async def _with_axe(context: BrowserContext, axe: bytes) -> None:
    async def serve(route: Route) -> None:
        await route.fulfill(body=axe, content_type="text/javascript")

    # Same origin, so the page's CSP (script-src 'self') lets it run, as it would any script of ours.
    await context.route(f"**{AXE_PATH}", serve)


async def _violations(context: BrowserContext, path: str) -> list[str]:
    page = await context.new_page()
    try:
        await page.goto(path)
        await page.add_script_tag(url=AXE_PATH)
        result = await page.evaluate("axe.run(document, {resultTypes: ['violations']})")
        found = [
            f"{path}: {item['id']} ({item['impact']}): {[node['target'] for node in item['nodes']]}"
            for item in result["violations"]
            if item["impact"] in ("serious", "critical")
        ]
        wide = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if wide > 0:
            found.append(f"{path}: {wide} px wider than the screen")
        return found
    finally:
        await page.close()


@pytest.fixture(scope="module")
async def wide_ranking(site: Site) -> None:
    """A player whose name and city are long, in the ranking: the table is then wider than a phone, as
    a real league's is, and must stay usable (its scrolling box reachable by keyboard)."""
    db = await asyncpg.connect(site.platform.db_url.replace("+asyncpg", ""))
    try:
        player = uuid.uuid4()
        await db.execute(
            "INSERT INTO users (id, first_name, last_name, email, password_hash, city, country)"
            " VALUES ($1, 'Juan Sebastián', 'Villamizar Castañeda', $2, 'x', $3, 'Colombia')",
            player, f"juan-{player.hex}@example.com", CITY,
        )  # fmt: skip
        await db.execute(
            "INSERT INTO player_scores (user_id, city, votes) VALUES ($1, $2, 1234)", player, CITY
        )
    finally:
        await db.close()


@pytest.mark.timeout(900)
@pytest.mark.usefixtures("wide_ranking")
@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["360x740", "1280x800"])
async def test_no_serious_violation_on_any_page(
    browser: Browser, site: Site, published: Published, vendor_modules: Path, viewport: dict[str, int]
) -> None:
    axe = (vendor_modules / "axe-core" / "axe.min.js").read_bytes()
    found: list[str] = []
    visitor = await new_context(browser, site, viewport)
    # The owner's session is the API's token (the same rules): set as the cookie, it is a login.
    owner = await new_context(browser, site, viewport)
    try:
        await _with_axe(visitor, axe)
        await _with_axe(owner, axe)
        await owner.add_cookies([{"name": "anb_session", "value": published.owner.token, "url": site.url}])
        for path in [*PUBLIC, f"/videos/{published.video_id}"]:
            found += await _violations(visitor, path)
        for path in ["/my-videos", "/upload", f"/my-videos/{published.video_id}/delete"]:
            found += await _violations(owner, path)
    finally:
        await visitor.close()
        await owner.close()
    assert found == []
