"""An upload cut mid-way resumes after a page reload and ends processed: tus (tus-js-client against
``/api/uploads/``), which the page uses when the server offers it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from site_kit import Site, api_account, new_context

from anb_devstack.clips import make_clip

# Slow enough that the test sees the upload part-way, fast enough to end in seconds.
UPLOAD_BYTES_PER_S = 3_000_000


async def _send(page: Page, clip: Path) -> None:
    await page.get_by_label("Título").fill("Bandeja interrumpida")
    await page.get_by_label("Video", exact=True).set_input_files(clip)
    await expect(page.locator("#file-check")).to_contain_text("Listo para subir")
    await page.get_by_role("button", name="Subir").click()


@pytest.mark.timeout(900)
async def test_an_interrupted_upload_resumes_after_a_reload(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    account = await api_account(site, "Isabela", "Cárdenas", "Cartagena")
    # Large enough to cut well before the end (about 20 MB: a lower crf than the journey's clip).
    clip = make_clip(tmp_path / "larga.mp4", seconds=21, fps=10, options={"crf": "26"})
    context = await new_context(browser, site)
    try:
        await context.add_cookies([{"name": "anb_session", "value": account.token, "url": site.url}])
        page = await context.new_page()
        network = await context.new_cdp_session(page)
        await network.send("Network.enable")
        await network.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": 0,
                "downloadThroughput": -1,
                "uploadThroughput": UPLOAD_BYTES_PER_S,
            },
        )
        await page.goto("/upload")
        await expect(page.locator("#upload-form")).to_have_attribute("data-transport", "tus")
        await _send(page, clip)
        await page.wait_for_function("() => document.getElementById('upload-progress').value >= 30")
        # The connection drops mid-way; the player reloads the page and picks the same file again.
        await network.send(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
        )
        await page.wait_for_timeout(1000)
        await network.send(
            "Network.emulateNetworkConditions",
            {
                "offline": False,
                "latency": 0,
                "downloadThroughput": -1,
                "uploadThroughput": UPLOAD_BYTES_PER_S,
            },
        )
        await page.reload()
        await expect(page.locator("#upload-status")).to_contain_text("Tienes una carga sin terminar")
        await _send(page, clip)
        # It goes on from the server's offset, not from zero.
        await expect(page.locator("#upload-status")).to_have_attribute(
            "data-resumed-from", re.compile(r"^[1-9]\d*$")
        )
        await expect(page).to_have_url("/my-videos?notice=uploaded", timeout=120_000)
        row = page.locator(".video-row", has_text="Bandeja interrumpida")
        await expect(row.locator("[data-status-text]")).to_have_text("Procesado", timeout=600_000)
    finally:
        await context.close()
