"""A player signs up, uploads a 21 s 1080p clip through the page (seeing progress, speed and time left),
follows it to "Procesado" without reloading (having seen "Procesando NN %"), picks its poster,
publishes it; a second player in another browser context, sent to log in by the vote button, comes
back to the video and votes (a second vote says so); the city's rankings page shows the vote. The
"my videos" screenshot of the README is taken here. The upload page refuses a dropped 720p clip, a
file over the size limit and a picked 5 s clip before sending anything."""

from __future__ import annotations

import base64
import re
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, CDPSession, Page, expect
from site_kit import PASSWORD, PHONE, SCREENSHOTS, Site, api_account, new_context

from anb_devstack.clips import make_clip

CITY = "Barranquilla"
TITLE = "Triple sobre la bocina"

# Every status text "my videos" shows, in order, whatever updates it (events or polling).
_WATCH_STATUS = """() => {
  window.__seen = [];
  const record = () => document.querySelectorAll('[data-status-text]').forEach((node) => {
    const text = node.textContent.trim();
    if (window.__seen.at(-1) !== text) window.__seen.push(text);
  });
  record();
  new MutationObserver(record).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


# Progress, speed and time left, e.g. "37 % · 0,6 de 1,6 MB · 0,4 MB/s · quedan 3 s".
_UNDER_WAY = re.compile(r"^\d{1,2} % · \d+,\d de \d+,\d MB · \d+,\d MB/s · quedan \d+ s$")


async def _throttle(network: CDPSession, upload_bytes_per_s: int) -> None:
    await network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": upload_bytes_per_s},
    )


async def _events_offered(site: Site, session: str) -> bool:
    async with (
        httpx.AsyncClient(timeout=30, cookies={"anb_session": session}) as client,
        client.stream("GET", site.api + "/videos/events") as answer,
    ):
        return answer.status_code == 200 and answer.headers["content-type"].startswith("text/event-stream")


async def sign_up(page: Page, first: str, last: str, city: str) -> None:
    await page.get_by_label("Nombre", exact=True).fill(first)
    await page.get_by_label("Apellido").fill(last)
    await page.get_by_label("Correo electrónico").fill(f"{first.lower()}.{uuid.uuid4().hex[:8]}@example.com")
    await page.get_by_label("Contraseña (mínimo 8 caracteres)").fill(PASSWORD)
    await page.get_by_label("Repite la contraseña").fill(PASSWORD)
    await page.get_by_label("Ciudad").fill(city)
    await page.get_by_role("button", name="Crear cuenta").click()


@pytest.mark.timeout(900)
async def test_upload_follow_publish_vote_rank(browser: Browser, site: Site, clip: Path) -> None:
    player = await new_context(browser, site)
    fan = await new_context(browser, site)
    try:
        page = await player.new_page()
        await page.goto("/signup")
        await sign_up(page, "Mateo", "Ospina", CITY)
        await expect(page).to_have_url("/my-videos?notice=signed_up")
        await expect(page.get_by_role("status")).to_have_text("¡Bienvenido! Tu cuenta está lista.")

        await page.get_by_role("link", name="Subir video").click()
        # Resumable: the gateway offers tus at /api/uploads/ (the one-request fallback: test_web_security).
        await expect(page.locator("#upload-form")).to_have_attribute("data-transport", "tus")
        await page.get_by_label("Título").fill(TITLE)
        await page.get_by_label("Video", exact=True).set_input_files(clip)
        # Checked in the browser from the file's metadata, before any byte is sent.
        await expect(page.locator("#file-check")).to_have_text(
            re.compile(r"^Listo para subir: 21,0 s, 1920×1080")
        )
        # Slowed to about 4 s so that the page shows the upload under way.
        network = await player.new_cdp_session(page)
        await network.send("Network.enable")
        await _throttle(network, upload_bytes_per_s=clip.stat().st_size // 4)
        await page.get_by_role("button", name="Subir").click()
        await expect(page.locator("#upload-status")).to_have_text(_UNDER_WAY, timeout=30_000)
        await _throttle(network, upload_bytes_per_s=-1)
        await expect(page).to_have_url("/my-videos?notice=uploaded", timeout=120_000)

        row = page.locator(".video-row", has_text=TITLE)
        await page.evaluate(_WATCH_STATUS)
        # Live through /api/videos/events (the session cookie authenticates it) once the gateway has it.
        session = next(c["value"] for c in await player.cookies() if c["name"] == "anb_session")
        feed = "events" if await _events_offered(site, session) else "polling"
        await expect(page.locator("#my-videos")).to_have_attribute("data-feed", feed)
        await expect(row.locator("[data-status-text]")).to_have_text("Procesado", timeout=600_000)
        seen = await page.evaluate("window.__seen")
        assert any(re.fullmatch(r"Procesando \d{1,3} %", text) for text in seen), seen
        assert await page.evaluate("window.__seen !== undefined")  # the same document: no reload
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=SCREENSHOTS / "my-videos.png", full_page=True)

        # The poster from second 3 of the footage: the row's picture changes.
        before = await row.locator("img.thumb").get_attribute("src")
        poster_form = row.locator(".poster-form")
        await poster_form.get_by_role("spinbutton", name="Portada: segundo de tu jugada").fill("3")
        await poster_form.get_by_role("button", name="Cambiar portada").click()
        await expect(page.get_by_role("status").first).to_have_text("Portada actualizada.")
        row = page.locator(".video-row", has_text=TITLE)
        await expect(row.locator("img.thumb")).not_to_have_attribute("src", before or "")
        assert await row.locator("img.thumb").evaluate("img => img.complete && img.naturalWidth") == 1280
        await row.get_by_role("button", name="Publicar para votación").click()
        await expect(page.locator(".video-row", has_text=TITLE)).to_contain_text("Publicado · 0 votos")
        video_url = (
            await page.locator(".video-row", has_text=TITLE)
            .get_by_role("link", name=re.compile("^Ver"))
            .get_attribute("href")
        )
        assert video_url is not None

        # The fan votes from the gallery: sent to log in (here: to sign up), then back to the video.
        watch = await fan.new_page()
        await watch.goto(f"/?city={CITY}")
        await watch.locator(".card", has_text=TITLE).get_by_role("button", name=re.compile("^Votar")).click()
        await expect(watch).to_have_url(re.compile(r"/login\?next="))
        await watch.get_by_role("link", name="Crear cuenta").last.click()
        await sign_up(watch, "Valentina", "Mejía", "Cali")
        await expect(watch).to_have_url(f"{video_url}?notice=signed_up")
        votes = watch.locator(".votes")
        await votes.get_by_role("button", name=re.compile("^Votar")).click()
        await expect(votes.locator(".said")).to_have_text("Voto registrado exitosamente.")
        await expect(votes.locator(".count")).to_have_text("1 voto")
        await votes.get_by_role("button", name=re.compile("^Votar")).click()
        await expect(watch.locator(".votes .said")).to_have_text("Ya has votado por este video.")
        await expect(watch.locator(".votes .count")).to_have_text("1 voto")

        await watch.goto(f"/rankings?city={CITY}")
        ranked = watch.locator("tbody tr", has_text="Mateo Ospina")
        await expect(ranked).to_contain_text(CITY)
        await expect(ranked.locator("td.num")).to_have_text("1")
    finally:
        await player.close()
        await fan.close()


async def test_the_upload_page_refuses_clips_before_sending_a_byte(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    account = await api_account(site, "Lucas", "Henao", "Pereira")
    short = make_clip(
        tmp_path / "corta.mp4", width=1280, height=720, seconds=5, fps=10, options={"crf": "40"}
    )
    low = make_clip(tmp_path / "720p.mp4", width=1280, height=720, seconds=21, fps=5, options={"crf": "45"})
    context = await new_context(browser, site, PHONE)
    try:
        await context.add_cookies([{"name": "anb_session", "value": account.token, "url": site.url}])
        page = await context.new_page()
        sent: list[str] = []
        page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
        await page.goto("/upload")
        await page.get_by_label("Título").fill("Muy corta")
        # Dropped on the page: long enough, but 720p.
        dropped = await page.evaluate_handle(
            """([name, b64]) => {
              const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
              const transfer = new DataTransfer();
              transfer.items.add(new File([bytes], name, {type: "video/mp4"}));
              return transfer;
            }""",
            [low.name, base64.b64encode(low.read_bytes()).decode()],
        )
        await page.locator("#drop").dispatch_event("drop", {"dataTransfer": dropped})
        await expect(page.locator("#file-check")).to_have_text(
            "La resolución es 1280×720; el lado menor debe tener al menos 1080 píxeles (1080p)."
        )
        # Over the size limit (a sparse file: the browser reads only its size).
        heavy = tmp_path / "pesada.mp4"
        with heavy.open("wb") as handle:
            handle.truncate(100_000_001)
        await page.get_by_label("Video", exact=True).set_input_files(heavy)
        await expect(page.locator("#file-check")).to_have_text(
            "El archivo pesa 100,0 MB; el máximo es 100 MB."
        )
        await page.get_by_label("Video", exact=True).set_input_files(short)
        await expect(page.locator("#file-check")).to_have_text(
            "El video dura 5,0 s; debe durar al menos 20 s."
        )
        await page.get_by_role("button", name="Subir").click()
        await expect(page.get_by_label("Video", exact=True)).to_be_focused()
        assert sent == []
    finally:
        await context.close()
