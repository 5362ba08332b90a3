"""The web app's tests: the platform as ``make run`` starts it (anb_devstack.running), Debian's Chromium
driven by Playwright (never ``playwright install``: that downloads a browser), one browser at a time,
and the pinned npm packages of services/gateway/web-vendor (axe-core for the accessibility checks).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright
from site_kit import CHROMIUM, CHROMIUM_ARGS, VENDOR, Published, Site, api_account, wait_processed

from anb_devstack import running
from anb_devstack.clips import make_clip


@pytest.fixture(scope="session")
def site(session_tmp: Path) -> Iterator[Site]:
    try:
        with running.platform(
            session_tmp / "web-platform",
            session_tmp / "web-platform.log",
            workers=1,
            # The tests sign up and log in from one address more often than a person would.
            extra_env={"ANB_AUTH_RATE_LIMIT_PER_MINUTE": "100000"},
        ) as started:
            yield Site(started.api.removesuffix("/api"), started)
    except running.PlatformFailed as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def vendor_modules() -> Path:
    """services/gateway/web-vendor/node_modules, installed from its lock file when missing or older."""
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is not installed: make test installs it (apt-get install -y npm)")
    installed = VENDOR / "node_modules" / ".package-lock.json"
    lock = VENDOR / "package-lock.json"
    if not installed.exists() or lock.stat().st_mtime > installed.stat().st_mtime:
        subprocess.run(
            [npm, "ci", "--prefix", str(VENDOR), "--no-audit", "--no-fund"], check=True, timeout=300
        )
    return VENDOR / "node_modules"


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: make test installs it (apt-get install -y chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture(scope="session")
def clip(session_tmp: Path) -> Path:
    """A 21 s 1080p clip, as the issue asks for the player's upload (small: a high crf)."""
    return make_clip(session_tmp / "web-clip-21s.mp4", seconds=21, fps=10, options={"crf": "40"})


@pytest.fixture(scope="session")
async def published(site: Site, clip: Path) -> Published:
    """A processed, published video of a player from Medellín, uploaded through the API."""
    owner = await api_account(site, "Camila", "Restrepo", "Medellín")
    title = "Doble en contraataque"
    async with httpx.AsyncClient(base_url=site.api, timeout=120, headers=owner.auth) as client:
        with clip.open("rb") as handle:
            answer = await client.post(
                "/videos/upload",
                files={"video_file": ("jugada.mp4", handle, "video/mp4")},
                data={"title": title},
            )
        assert answer.status_code == 202, answer.text
        video_id = answer.json()["video_id"]
        await wait_processed(site, owner, video_id)
        assert (await client.post(f"/videos/{video_id}/publish")).status_code == 200
    return Published(video_id, title, owner)
