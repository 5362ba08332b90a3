"""A processed video's poster, storyboard and HLS playlist through the real gateway: the links in the
listings and the detail, who may fetch the playlist and storyboard (a published video's are public,
an unpublished one's only by the owner's signed link; everything else is the same 404), the texts
served valid with every URI absolute and fetchable, and the ffmpeg CLI playing the playlist from
those links against moto."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import av
import httpx
import m3u8
import pytest

from anb_common.aws import Aws
from anb_common.db.models import VideoStatus
from anb_devstack.clips import make_clip
from anb_gateway.media_links import MediaLinks
from anb_gateway.storage import S3Storage
from anb_transcoder import hls
from gateway.conftest import Gateway, Player, Videos, sign_up

STORYBOARD = (
    "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\nsprite.jpg#xywh=0,0,160,90\n\n"
    "00:00:01.000 --> 00:00:01.500\nsprite.jpg#xywh=160,0,160,90\n"
)
NOT_FOUND = {"status_code": 404, "detail": "Video no encontrado."}
CLIP_SECONDS, CLIP_FPS = 5, 10


@pytest.fixture(scope="module")
def rendition(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], int]:
    """A real HLS rendition as the transcoder makes it (its MP4's packets remuxed, a segment every
    2 s keyframe), and the number of frames of that MP4."""
    folder = tmp_path_factory.mktemp("rendition")
    mp4 = make_clip(
        folder / "processed.mp4",
        width=1280,
        height=720,
        seconds=CLIP_SECONDS,
        fps=CLIP_FPS,
        options={"x264-params": f"keyint={2 * CLIP_FPS}:min-keyint={2 * CLIP_FPS}:scenecut=0"},
    )
    playlist = hls.remux(mp4, folder / "hls")
    with av.open(str(mp4)) as media:
        frames = sum(1 for _ in media.decode(video=0))
    return {path.name: path.read_bytes() for path in playlist.parent.iterdir()}, frames


@pytest.fixture(scope="module")
async def player(api: httpx.AsyncClient) -> Player:
    return await sign_up(api, "Vera", "Luna", "Ibagué")


def _cache_control(response: httpx.Response) -> tuple[str, int]:
    """Who may keep the text and for how long, rounded up to the minute: the max-age counts down
    from half the links' lifetime (1800 s of the default hour) while the test runs."""
    audience, age = response.headers["cache-control"].split(", max-age=")
    return audience, -(-int(age) // 60) * 60


async def _processed(
    videos: Videos, owner: Player, rendition: tuple[dict[str, bytes], int], *, published: bool = False
) -> uuid.UUID:
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSED, published=published, processed=b"mp4")
    await videos.derive(video_id, poster=b"poster jpeg", storyboard=STORYBOARD, hls=rendition[0])
    return video_id


async def _detail(api: httpx.AsyncClient, player: Player, video_id: uuid.UUID) -> dict[str, Any]:
    response = await api.get(f"/api/videos/{video_id}", headers=player.auth)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _unsigned(url: str) -> str:
    return url.split("?", 1)[0]


async def test_the_owner_s_detail_and_listing_carry_the_three_links(
    api: httpx.AsyncClient, gateway: Gateway, player: Player, videos: Videos, rendition: Any
) -> None:
    video_id = await _processed(videos, player, rendition)
    body = await _detail(api, player, video_id)
    assert body["hls_url"].startswith(f"{gateway.url}/api/videos/{video_id}/hls.m3u8?expires=")
    assert body["storyboard_url"].startswith(f"{gateway.url}/api/videos/{video_id}/storyboard.vtt?expires=")
    async with httpx.AsyncClient() as plain:
        assert (await plain.get(body["poster_url"])).content == b"poster jpeg"
    deadline = time.monotonic() + 30
    while True:
        listed = {
            item["video_id"]: item for item in (await api.get("/api/videos", headers=player.auth)).json()
        }
        if (str(video_id) in listed and listed[str(video_id)]["hls_url"]) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    item = listed[str(video_id)]
    assert _unsigned(item["hls_url"]) == _unsigned(body["hls_url"])
    assert item["poster_url"]
    assert item["storyboard_url"]


async def test_links_are_null_before_processing_and_for_a_video_without_derivatives(
    api: httpx.AsyncClient, player: Player, videos: Videos
) -> None:
    queued = await videos.add(player.user_id, VideoStatus.PROCESSING)
    old = await videos.add(player.user_id, VideoStatus.PROCESSED, processed=b"mp4")
    for video_id in (queued, old):
        body = await _detail(api, player, video_id)
        assert (body["poster_url"], body["storyboard_url"], body["hls_url"]) == (None, None, None)


async def test_an_unpublished_video_s_playlist_and_storyboard_are_404_to_all_but_the_owner_s_link(
    api: httpx.AsyncClient, player: Player, other: Player, videos: Videos, rendition: Any
) -> None:
    video_id = await _processed(videos, player, rendition)
    body = await _detail(api, player, video_id)
    async with httpx.AsyncClient() as client:
        for url in (body["hls_url"], body["storyboard_url"]):
            served = await client.get(url)
            assert served.status_code == 200
            # No shared cache keeps the owner's text; theirs keeps it while its links are young.
            assert _cache_control(served) == ("private", 1800)
            bare = _unsigned(url)
            # A visitor, another player (their token is no key here), even the owner's own token.
            for headers in ({}, other.auth, player.auth):
                refused = await client.get(bare, headers=headers)
                assert (refused.status_code, refused.json()) == (404, NOT_FOUND)
            # The owner's link is for this video only.
            elsewhere = url.replace(str(video_id), str(uuid.uuid4()))
            assert (await client.get(elsewhere)).json() == NOT_FOUND


@pytest.mark.parametrize("tamper", ["expired", "forged", "another key"])
async def test_an_expired_or_forged_signature_is_404(
    api: httpx.AsyncClient,
    player: Player,
    videos: Videos,
    rendition: Any,
    gateway_env: dict[str, str],
    aws: Aws,
    tamper: str,
) -> None:
    video_id = await _processed(videos, player, rendition)
    url = _unsigned((await _detail(api, player, video_id))["hls_url"])
    storage = S3Storage(aws, 3600)  # never started: signing needs no storage
    if tamper == "expired":
        # Signed with the gateway's key two hours ago, for one hour.
        links = MediaLinks(gateway_env["ANB_JWT_SECRET"], 3600, storage, clock=lambda: time.time() - 7200)
        query = links.signed_query(video_id)
    elif tamper == "forged":
        expires = int(time.time()) + 3600
        query = f"expires={expires}&signature={'A' * 43}"
    else:
        query = MediaLinks("another-secret-" + "z" * 32, 3600, storage).signed_query(video_id)
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{url}?{query}")).json() == NOT_FOUND
    if tamper == "expired":
        fresh = MediaLinks(gateway_env["ANB_JWT_SECRET"], 3600, storage).signed_query(video_id)
        async with httpx.AsyncClient() as client:
            assert (await client.get(f"{url}?{fresh}")).status_code == 200


async def test_a_published_video_plays_for_a_visitor_from_the_public_listing(
    api: httpx.AsyncClient, videos: Videos, rendition: Any
) -> None:
    city = f"Pueblo {uuid.uuid4().hex[:6]}"
    owner = await sign_up(api, "Gala", "Ríos", city)
    video_id = await _processed(videos, owner, rendition, published=True)
    [item] = (await api.get("/api/public/videos", params={"city": city})).json()
    assert item["video_id"] == str(video_id)
    assert "?" not in item["hls_url"]
    assert "?" not in item["storyboard_url"]
    async with httpx.AsyncClient() as visitor:
        assert (await visitor.get(item["poster_url"])).content == b"poster jpeg"
        playlist = await visitor.get(item["hls_url"])
        assert playlist.status_code == 200
        assert playlist.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert _cache_control(playlist) == ("public", 1800)
        storyboard = await visitor.get(item["storyboard_url"])
        assert storyboard.status_code == 200
        assert storyboard.headers["content-type"].startswith("text/vtt")
    # The owner is handed the same plain links once the video is published.
    assert (await _detail(api, owner, video_id))["hls_url"] == item["hls_url"]


async def test_no_such_video_or_a_malformed_id_or_no_rendition_is_404(
    api: httpx.AsyncClient, player: Player, videos: Videos
) -> None:
    without = await videos.add(player.user_id, VideoStatus.PROCESSED, published=True, processed=b"mp4")
    async with httpx.AsyncClient(base_url=str(api.base_url)) as client:
        for path in (f"/api/videos/{uuid.uuid4()}/hls.m3u8", "/api/videos/nope/storyboard.vtt"):
            assert (await client.get(path)).json() == NOT_FOUND
        for name in ("hls.m3u8", "storyboard.vtt"):
            assert (await client.get(f"/api/videos/{without}/{name}")).json() == NOT_FOUND


async def test_the_served_playlist_is_valid_and_every_uri_is_absolute_and_fetchable(
    api: httpx.AsyncClient, player: Player, videos: Videos, rendition: Any
) -> None:
    files, _ = rendition
    video_id = await _processed(videos, player, rendition)
    async with httpx.AsyncClient() as client:
        text = (await client.get((await _detail(api, player, video_id))["hls_url"])).text
        playlist = m3u8.loads(text)
        assert playlist.playlist_type == "vod"
        assert playlist.is_endlist
        assert playlist.segment_map
        assert len(playlist.segments) == 3
        uris = [playlist.segment_map[0].uri, *(segment.uri for segment in playlist.segments)]
        for uri in uris:
            assert urlsplit(uri).scheme == "http"
            assert "X-Amz-Signature" in parse_qs(urlsplit(uri).query)
        fetched = [(await client.get(uri)).content for uri in uris]
    names = [re.search(r"/hls/([^/?]+)\?", uri)[1] for uri in uris]  # type: ignore[index]
    assert fetched == [files[name] for name in names]


async def test_the_served_storyboard_points_into_the_sprite(
    api: httpx.AsyncClient, player: Player, videos: Videos, rendition: Any
) -> None:
    video_id = await _processed(videos, player, rendition)
    async with httpx.AsyncClient() as client:
        text = (await client.get((await _detail(api, player, video_id))["storyboard_url"])).text
        cues = [line for line in text.splitlines() if "#xywh=" in line]
        assert [cue.split("#", 1)[1] for cue in cues] == ["xywh=0,0,160,90", "xywh=160,0,160,90"]
        assert (await client.get(cues[0].split("#", 1)[0])).content == b"sprite"


async def test_ffmpeg_plays_the_owner_s_playlist_link_against_moto(
    api: httpx.AsyncClient, player: Player, videos: Videos, rendition: tuple[dict[str, bytes], int]
) -> None:
    video_id = await _processed(videos, player, rendition)
    url = (await _detail(api, player, video_id))["hls_url"]
    decoded = ffmpeg_frames(url)
    assert decoded == rendition[1] == CLIP_SECONDS * CLIP_FPS


def ffmpeg_frames(url: str) -> int:
    """Frames the ffmpeg CLI decodes from ``url`` (exit 0 required)."""
    done = subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-v",
            "error",
            "-i",
            url,
            "-map",
            "0:v",
            "-f",
            "null",
            "-",
            "-progress",
            "pipe:1",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return int(re.findall(r"^frame=(\d+)$", done.stdout, re.M)[-1])
