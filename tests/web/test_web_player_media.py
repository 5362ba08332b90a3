"""The video page's player with media whose every detail the test knows: HLS plays through hls.js, the
MP4 takes over when the playlist fails, scrubbing (pointer and keyboard) shows the storyboard's exact
thumbnail, and the share tags carry the poster.

A processed video's real media is checked in test_web_visitor; here the page is rendered by its own
template from a video shaped as the contract says, so that a playlist can fail on purpose and the
thumbnail for a moment is known. The media is made with ffmpeg from a real clip and kept in the
platform's storage behind presigned links (another origin than the page, as in a deployment); the page
gets the site's own Content-Security-Policy and scripts.
"""

from __future__ import annotations

import re
import subprocess
import threading
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from playwright.async_api import Browser, Page, expect
from site_kit import DESKTOP, Site

from anb_common.aws import Aws
from anb_devstack.clips import make_clip
from anb_gateway.web import i18n, static
from anb_gateway.web.parts import with_media
from anb_gateway.web.routes import template_config

SECONDS = 8
TILE_W, TILE_H, TILES_PER_ROW = 160, 90, 5
PAGE = "/__test__/video-page"


@dataclass(frozen=True)
class Media:
    """Presigned links to one video's files in the platform's storage."""

    mp4: str
    poster: str
    storyboard: str
    playlist: str


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", *args], check=True, timeout=120)


def _storyboard(sprite_url: str) -> str:
    """One cue a second, each naming its tile of the sprite (row by row)."""
    cues = ["WEBVTT", ""]
    for second in range(SECONDS):
        x, y = (second % TILES_PER_ROW) * TILE_W, (second // TILES_PER_ROW) * TILE_H
        cues += [
            f"00:00:{second:02d}.000 --> 00:00:{second + 1:02d}.000",
            f"{sprite_url}#xywh={x},{y},{TILE_W},{TILE_H}",
            "",
        ]
    return "\n".join(cues)


@pytest.fixture(scope="module")
async def media(site: Site, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Media]:
    tmp_path = tmp_path_factory.mktemp("media")
    source = make_clip(
        tmp_path / "source.mp4", width=1280, height=720, seconds=SECONDS, options={"crf": "35", "g": "20"}
    )
    out = tmp_path / "media"
    out.mkdir()
    _ffmpeg("-i", str(source), "-c", "copy", "-movflags", "+faststart", str(out / "video.mp4"))
    _ffmpeg("-ss", "3", "-i", str(source), "-frames:v", "1", str(out / "poster.jpg"))
    rows = -(-SECONDS // TILES_PER_ROW)
    _ffmpeg(
        "-i", str(source), "-vf", f"fps=1,scale={TILE_W}:{TILE_H},tile={TILES_PER_ROW}x{rows}",
        "-frames:v", "1", str(out / "sprite.jpg"),
    )  # fmt: skip
    _ffmpeg(
        "-i", str(source), "-c", "copy", "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
        "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4",
        "-hls_segment_filename", str(out / "seg%d.m4s"), str(out / "hls.m3u8"),
    )  # fmt: skip
    aws = Aws(site.platform.aws)
    prefix = f"web-tests/{uuid.uuid4()}/"
    async with aws.s3() as s3:
        bucket = aws.settings.bucket

        async def put(name: str, body: bytes, content_type: str) -> str:
            await s3.put_object(Bucket=bucket, Key=prefix + name, Body=body, ContentType=content_type)
            url: str = await s3.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": prefix + name}, ExpiresIn=3600
            )
            return url

        links = {
            name: await put(name, (out / name).read_bytes(), kind)
            for name, kind in [
                ("video.mp4", "video/mp4"), ("poster.jpg", "image/jpeg"), ("sprite.jpg", "image/jpeg"),
                ("init.mp4", "video/mp4"),
                *[(path.name, "video/iso.segment") for path in sorted(out.glob("seg*.m4s"))],
            ]
        }  # fmt: skip
        # As the contract says of the served playlist and storyboard: every URI inside usable as it is.
        playlist = re.sub(
            r"^(?!#)(\S+)$|(?<=URI=\")([^\"]+)",
            lambda match: links[match.group(0)],
            (out / "hls.m3u8").read_text(),
            flags=re.MULTILINE,
        )
        yield Media(
            mp4=links["video.mp4"],
            poster=links["poster.jpg"],
            storyboard=await put("storyboard.vtt", _storyboard(links["sprite.jpg"]).encode(), "text/vtt"),
            playlist=await put("hls.m3u8", playlist.encode(), "application/vnd.apple.mpegurl"),
        )
        listed = await s3.list_objects_v2(Bucket=bucket, Prefix=prefix)
        for item in listed.get("Contents", []):
            await s3.delete_object(Bucket=bucket, Key=item["Key"])


def _render(site: Site, **fields: str | None) -> str:
    """video.html as the gateway renders it for a published video whose detail has ``fields``."""
    video = with_media({
        "video_id": str(uuid.uuid4()), "username": "Camila Restrepo", "city": "Medellín",
        "title": "Bandeja con la izquierda", "status": "processed", "votes": 0, "published": True,
        **fields,
    })  # fmt: skip
    template = template_config().instance.get_template("video.html")  # type: ignore[union-attr]
    catalogue = i18n.CATALOGUES[i18n.DEFAULT_LOCALE]
    return template.render(
        t=catalogue, player=None, csrf="token", here="/", notice=None, said=None, video=video, base=site.url
    )


class _PageServer(ThreadingHTTPServer):
    """The rendered page and the web app's static files, from a real address on this machine.

    Not a route of Playwright's: Chromium treats a page it did not fetch from an address as public,
    and then refuses its requests to storage on 127.0.0.1 (local network access), which a page of the
    gateway on 127.0.0.1 may make."""

    html = b""
    csp = ""


class _Handler(BaseHTTPRequestHandler):
    server: _PageServer

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        found = static.FILES.get(path.removeprefix("/static/")) if path.startswith("/static/") else None
        if path == PAGE:
            body, kind, headers = self.server.html, "text/html", {"Content-Security-Policy": self.server.csp}
        elif found is not None:
            body, kind, headers = found.body, found.media_type, {}
        else:
            self.send_error(404)
            return
        self.send_response(200)
        for name, value in {**headers, "Content-Type": kind, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@asynccontextmanager
async def _opened(browser: Browser, site: Site, html: str) -> AsyncIterator[tuple[Page, list[str]]]:
    """The page open in a fresh context, served with the site's own Content-Security-Policy, and the
    CSP refusals its console reports."""
    server = _PageServer(("127.0.0.1", 0), _Handler)
    server.html = html.encode()
    server.csp = httpx.get(site.url + "/", timeout=30).headers["content-security-policy"]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    context = await browser.new_context(viewport=DESKTOP, locale="es-CO")  # type: ignore[arg-type]
    try:
        page = await context.new_page()
        refused: list[str] = []
        page.on(
            "console",
            lambda message: refused.append(message.text) if "Content Security" in message.text else None,
        )
        await page.goto(f"http://127.0.0.1:{server.server_address[1]}{PAGE}")
        yield page, refused
    finally:
        await context.close()
        server.shutdown()
        server.server_close()


async def _plays_2_s(page: Page) -> None:
    await page.locator("video#player").evaluate("v => { v.muted = true; return v.play(); }")
    await page.wait_for_function("() => document.getElementById('player').currentTime >= 2", timeout=60_000)


@pytest.mark.timeout(300)
async def test_hls_plays_scrubbing_previews_and_the_poster_is_shared(
    browser: Browser, site: Site, media: Media
) -> None:
    html = _render(
        site, processed_url=media.mp4, poster_url=media.poster, storyboard_url=media.storyboard,
        hls_url=media.playlist,
    )  # fmt: skip
    async with _opened(browser, site, html) as (page, refused):
        video = page.locator("video#player")
        assert await video.get_attribute("poster") == media.poster
        video_id = re.search(r"/videos/([0-9a-f-]{36})\"", html)
        assert video_id is not None
        og_image = page.locator('meta[property="og:image"]')
        await expect(og_image).to_have_attribute(
            "content", f"{site.url}/videos/{video_id.group(1)}/poster.jpg"
        )
        await expect(page.locator('meta[name="twitter:card"]')).to_have_attribute(
            "content", "summary_large_image"
        )

        await _plays_2_s(page)
        assert await video.get_attribute("data-engine") == "hls.js"
        assert await video.evaluate("v => v.currentSrc.startsWith('blob:')")  # MediaSource, not the MP4

        scrub = page.get_by_label("Posición en el video")
        await expect(scrub).to_be_visible()
        await page.wait_for_function(
            "() => Math.abs(Number(document.getElementById('scrub').max) - "
            "document.getElementById('player').duration) < 0.01"
        )
        box = await scrub.bounding_box()
        assert box is not None
        # 60 % of 8 s is 4.8 s: the fifth thumbnail, the first row's last.
        await scrub.hover(position={"x": box["width"] * 0.6, "y": box["height"] / 2})
        preview = page.locator("#scrub-preview")
        await expect(preview).to_be_visible()
        style = await preview.evaluate(
            "node => [node.style.backgroundImage, node.style.backgroundPosition, node.style.width]"
        )
        assert "sprite.jpg" in style[0], style
        assert style[1:] == [f"-{4 * TILE_W}px 0px", f"{TILE_W}px"], style
        # The sprite really loaded under the page's CSP (img-src allows storage).
        assert (
            await page.evaluate(
                "url => new Promise(done => { const i = new Image(); i.onload = () => done(i.naturalWidth);"
                " i.onerror = () => done(0); i.src = url; })",
                re.sub(r'^url\("?|"?\)$', "", style[0]),
            )
            == TILE_W * TILES_PER_ROW
        )
        # Keyboard: the range is focusable and moving it shows the thumbnail too.
        await page.mouse.move(0, 0)
        await expect(preview).to_be_hidden()
        await scrub.focus()
        await page.keyboard.press("ArrowRight")
        await expect(preview).to_be_visible()
        # Read out as a position in the video, not as a bare number.
        await expect(scrub).to_have_attribute("aria-valuetext", re.compile(r"^0:0\d de 0:08$"))
        await expect(preview).to_be_hidden()  # a moment after the last key
        assert refused == []


@pytest.mark.timeout(300)
async def test_the_mp4_plays_when_the_playlist_fails(browser: Browser, site: Site, media: Media) -> None:
    broken = media.playlist.replace("hls.m3u8", "missing.m3u8")
    async with _opened(browser, site, _render(site, processed_url=media.mp4, hls_url=broken)) as (
        page,
        refused,
    ):
        video = page.locator("video#player")
        await page.wait_for_function(
            "() => document.getElementById('player').currentSrc.includes('video.mp4')"
        )
        await _plays_2_s(page)
        assert await video.evaluate("v => v.currentSrc") == media.mp4
        # No storyboard in the detail: no scrub bar of ours, the player's own controls only.
        await expect(page.locator("#scrub-box")).to_be_hidden()
        assert refused == []
