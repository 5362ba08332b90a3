"""The browser libraries the gateway serves are the pinned npm packages, byte for byte (so ``make run``
needs no npm); each page's own scripts stay within 50 KB compressed (hls.js aside: it is loaded only
on the video page, and only when the video has an HLS playlist)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import httpx
from site_kit import VENDOR, Published, Site

from anb_gateway.web import static

# Served copy -> the file of the locked package it must equal.
COPIES = {
    "vendor/htmx.min.js": "htmx.org/dist/htmx.min.js",
    "vendor/hls.light.min.js": "hls.js/dist/hls.light.min.js",
    "vendor/tus.min.js": "tus-js-client/dist/tus.min.js",
}
BUDGET_GZ = 50 * 1000
EXEMPT = {"vendor/hls.light.min.js"}


def test_vendored_files_are_the_locked_packages(vendor_modules: Path) -> None:
    served = {name for name in static.FILES if name.startswith("vendor/")}
    assert served == set(COPIES)
    for name, source in COPIES.items():
        assert static.FILES[name].body == (vendor_modules / source).read_bytes(), name
    manifest = json.loads((VENDOR / "package.json").read_text())
    lock = json.loads((VENDOR / "package-lock.json").read_text())
    for package, version in manifest["devDependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), f"{package} must be pinned exactly, not {version}"
        assert lock["packages"][f"node_modules/{package}"]["version"] == version


def test_static_files_answer_compressed_and_cacheable(site: Site) -> None:
    url = static.url("vendor/htmx.min.js")
    answer = httpx.get(site.url + url, headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "immutable" in answer.headers["cache-control"]
    assert answer.content == static.FILES["vendor/htmx.min.js"].body  # httpx decompressed it
    assert httpx.get(site.url + "/static/../settings.py").status_code == 404


async def test_each_pages_scripts_fit_the_budget(site: Site, published: Published) -> None:
    cookies = {"anb_session": published.owner.token}
    async with httpx.AsyncClient(base_url=site.url, cookies=cookies, timeout=30) as client:
        for path in ("/", "/rankings", f"/videos/{published.video_id}", "/my-videos", "/upload", "/signup"):
            html = (await client.get(path)).text
            names = re.findall(r'<script src="/static/([^"?]+)\?v=', html)
            total = sum(len(gzip.compress(static.FILES[name].body)) for name in names if name not in EXEMPT)
            assert total <= BUDGET_GZ, (path, names, total)
