"""What the web app's tests share besides fixtures: the site, accounts, Chromium's settings."""

from __future__ import annotations

import asyncio
import time
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from playwright.async_api import Browser, BrowserContext

from anb_devstack.running import RunningPlatform

REPO = Path(__file__).resolve().parents[2]
VENDOR = REPO / "services" / "gateway" / "web-vendor"
SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# As root Chromium needs --no-sandbox; the rest keep it from calling out of this closed network (its
# refused connections, many at a time, otherwise slow it down and fill its log).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
PASSWORD = "clave-segura-2026"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 800}


@dataclass(frozen=True)
class Site:
    url: str
    """The web app's base URL (the gateway, as make run serves it)."""
    platform: RunningPlatform

    @property
    def api(self) -> str:
        return self.platform.api


async def new_context(browser: Browser, site: Site, viewport: dict[str, int] = DESKTOP) -> BrowserContext:
    """A fresh visitor: its own cookies and storage, Spanish, the given screen."""
    context = await browser.new_context(base_url=site.url, viewport=viewport, locale="es-CO")  # type: ignore[arg-type]
    context.set_default_timeout(30_000)
    return context


@dataclass(frozen=True)
class Account:
    email: str
    token: str
    first_name: str
    last_name: str
    city: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def api_account(site: Site, first: str, last: str, city: str) -> Account:
    # ASCII: a browser's type=email field refuses "sofía@…", which the API takes.
    plain = unicodedata.normalize("NFKD", first.lower()).encode("ascii", "ignore").decode()
    email = f"{plain}.{uuid.uuid4().hex[:8]}@example.com"
    body = {
        "first_name": first, "last_name": last, "email": email, "password1": PASSWORD,
        "password2": PASSWORD, "city": city, "country": "Colombia",
    }  # fmt: skip
    async with httpx.AsyncClient(base_url=site.api, timeout=60) as client:
        (await client.post("/auth/signup", json=body)).raise_for_status()
        login = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
        login.raise_for_status()
    return Account(email, login.json()["access_token"], first, last, city)


async def wait_processed(
    site: Site, account: Account, video_id: str, timeout_s: float = 600
) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(base_url=site.api, timeout=60, headers=account.auth) as client:
        while True:
            detail = (await client.get(f"/videos/{video_id}")).json()
            if detail["status"] in ("processed", "failed") or time.monotonic() > deadline:
                assert detail["status"] == "processed", detail
                return dict(detail)
            await asyncio.sleep(1)


@dataclass(frozen=True)
class Published:
    video_id: str
    title: str
    owner: Account
