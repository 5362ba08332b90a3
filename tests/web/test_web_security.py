"""What a player typed (in the upload page, sent in one request) shows as text; forms and
state-changing requests without their CSRF token are refused; the pages' headers (CSP without inline
script or style, the session cookie's flags); /api answers as the contract says, cookie or not; the
page's login counts against the API's limits."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from site_kit import PASSWORD, Account, Published, Site, api_account, new_context

XSS = "<script>alert(1)</script>"


async def log_in(page: Page, account: Account, next_path: str = "") -> None:
    await page.goto(f"/login?next={next_path}" if next_path else "/login")
    await page.get_by_label("Correo electrónico").fill(account.email)
    await page.get_by_label("Contraseña").fill(PASSWORD)
    await page.get_by_role("button", name="Entrar").click()


@pytest.mark.timeout(900)
async def test_a_title_with_markup_shows_as_text_followed_by_polling_and_deleted_after_confirming(
    browser: Browser, site: Site, clip: Path
) -> None:
    account = await api_account(site, "Sofía", "Álvarez", "Cali")
    context = await new_context(browser, site)
    try:
        # As before the events and tus endpoints existed: the page polls for the status, and uploads
        # in one request (the fallback the upload page takes when /api/uploads/ answers 404).
        await context.route("**/api/videos/events", lambda route: route.fulfill(status=404))
        await context.route("**/api/uploads/", lambda route: route.fulfill(status=404))
        page = await context.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        await log_in(page, account, "/upload")
        await expect(page.locator("#upload-form")).to_have_attribute("data-transport", "single")
        await page.get_by_label("Título").fill(XSS)
        await page.get_by_label("Video", exact=True).set_input_files(clip)
        await expect(page.locator("#file-check")).to_contain_text("Listo para subir")
        await page.get_by_role("button", name="Subir").click()
        await expect(page).to_have_url("/my-videos?notice=uploaded", timeout=120_000)
        row = page.locator(".video-row")
        await expect(row.locator(".row-title")).to_have_text(XSS)
        await expect(page.locator("#my-videos")).to_have_attribute("data-feed", "polling")
        await expect(row.locator("[data-status-text]")).to_have_text("Procesado", timeout=600_000)
        await row.get_by_role("link", name=f"Eliminar «{XSS}»").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Eliminar video")
        await expect(page.get_by_text(f"¿Seguro que quieres eliminar «{XSS}»?")).to_be_visible()
        await page.get_by_role("button", name="Sí, eliminar").click()
        await expect(page).to_have_url("/my-videos?notice=deleted")
        await expect(page.get_by_role("status")).to_have_text("Video eliminado.")
        await expect(page.locator(".video-row")).to_have_count(0)
        assert dialogs == []
    finally:
        await context.close()


async def test_a_form_posted_without_its_csrf_token_is_refused(browser: Browser, site: Site) -> None:
    account = await api_account(site, "Tomás", "Duque", "Pereira")
    context = await new_context(browser, site)
    try:
        page = await context.new_page()
        await page.goto("/login")
        await page.get_by_label("Correo electrónico").fill(account.email)
        await page.get_by_label("Contraseña").fill(PASSWORD)
        await page.locator("form.stack input[name=_csrf]").evaluate("field => field.remove()")
        await page.get_by_role("button", name="Entrar").click()
        await expect(page.get_by_role("heading", level=1)).to_have_text("Error 403")
        await expect(page.get_by_role("alert")).to_contain_text("El formulario caducó")
        assert "anb_session" not in {cookie["name"] for cookie in await context.cookies()}

        await log_in(page, account)
        await expect(page).to_have_url("/my-videos?notice=logged_in")
        # A script's request without the header is refused too, even with the session cookie.
        refused = await page.evaluate("fetch('/logout', {method: 'POST'}).then((r) => r.status)")
        assert refused == 403
        await page.goto("/my-videos")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Mis videos")
    finally:
        await context.close()


async def test_tokens_must_be_signed_and_match_the_cookie(site: Site) -> None:
    async with httpx.AsyncClient(base_url=site.url, timeout=30) as client:
        page = await client.get("/login")
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)[1]  # type: ignore[index]
        nonce, _, _ = token.partition(".")
        forged = f"{nonce}.{'0' * 64}"
        body = {"email": "nadie@example.com", "password": "x"}
        for sent in (forged, "", "nonsense"):
            answer = await client.post("/login", data={**body, "_csrf": sent})
            assert answer.status_code == 403, sent
        # Another visitor's valid token is not this visitor's.
        async with httpx.AsyncClient(base_url=site.url, timeout=30) as other:
            theirs = re.search(r'name="csrf-token" content="([^"]+)"', (await other.get("/login")).text)[1]  # type: ignore[index]
        assert (await client.post("/login", data={**body, "_csrf": theirs})).status_code == 403
        assert (await client.post("/login", data={**body, "_csrf": token})).status_code == 401


async def test_headers_cookies_and_api_untouched_by_the_cookie(site: Site, published: Published) -> None:
    owner = published.owner
    async with httpx.AsyncClient(base_url=site.url, timeout=30) as client:
        page = await client.get("/login")
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "style-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp
        token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)[1]  # type: ignore[index]
        answer = await client.post(
            "/login", data={"email": owner.email, "password": PASSWORD, "_csrf": token}
        )
        assert answer.status_code == 303
        cookie = next(
            value for value in answer.headers.get_list("set-cookie") if value.startswith("anb_session=")
        )
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/" in cookie
        assert "Secure" not in cookie  # plain http on 127.0.0.1; https (or a trusted proxy's) sets it
        session = client.cookies["anb_session"]
        # /api answers as the contract says, cookie or not: the cookie opens no Bearer-only route.
        mine = await client.get(site.api + "/videos")
        assert mine.status_code == 401
        assert mine.json()["detail"] == "Falta el encabezado Authorization: Bearer <access_token>."
        # ...and it is the API's own token: the same rules, usable as a Bearer token.
        bearer = await client.get(site.api + "/videos", headers={"Authorization": f"Bearer {session}"})
        assert bearer.status_code == 200
        # No inline script, event handler or style in any page.
        for path in ("/", "/rankings", f"/videos/{published.video_id}", "/my-videos", "/upload", "/signup"):
            html = (await client.get(path)).text
            scripts = re.findall(r"<script\b([^>]*)>", html)
            assert all("src=" in attributes or "application/json" in attributes for attributes in scripts), (
                path
            )
            assert not re.search(r"\son[a-z]+\s*=", html), path
            assert not re.search(r"\sstyle\s*=", html), path


async def test_page_logins_count_against_the_apis_limits(site: Site) -> None:
    """The page's login is the API's: failures through the form lock the account for this address
    exactly as failures through the API do (ANB_AUTH_ACCOUNT_FAILURES, 10 by default)."""
    email = "objetivo@example.com"
    async with httpx.AsyncClient(base_url=site.url, timeout=30) as client:
        token = re.search(r'name="csrf-token" content="([^"]+)"', (await client.get("/login")).text)[1]  # type: ignore[index]
        for _ in range(10):
            refused = await client.post(
                "/login", data={"email": email, "password": "mala-clave", "_csrf": token}
            )
            assert refused.status_code == 401
            assert "Credenciales inválidas." in refused.text
        locked = await client.post(site.api + "/auth/login", json={"email": email, "password": "mala-clave"})
        assert locked.status_code == 429
        page = await client.post("/login", data={"email": email, "password": "mala-clave", "_csrf": token})
        assert page.status_code == 429
        assert "Demasiados intentos fallidos para esta cuenta" in page.text
        assert page.headers["retry-after"].isdigit()


async def test_the_upload_form_without_scripts_carries_its_token_in_the_query(site: Site) -> None:
    account = await api_account(site, "Andrés", "Mora", "Manizales")
    async with httpx.AsyncClient(
        base_url=site.url, timeout=60, cookies={"anb_session": account.token}
    ) as client:
        page = await client.get("/upload")
        action = re.search(r'id="upload-form" method="post" action="([^"]+)"', page.text)[1]  # type: ignore[index]
        assert action.startswith("/upload?_csrf=")
        form = {
            "files": {"video_file": ("nota.mp4", b"esto no es un video", "video/mp4")},
            "data": {"title": "x"},
        }
        refused = await client.post("/upload", **form)  # type: ignore[arg-type]
        assert refused.status_code == 403
        answered = await client.post(action.replace("&amp;", "&"), **form)  # type: ignore[arg-type]
        # The API's own refusal, on the upload page (nothing was stored).
        assert answered.status_code == 400
        assert 'role="alert"' in answered.text
        assert "video_file:" in answered.text
