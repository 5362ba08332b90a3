"""The owner's signed links to an unpublished video's playlist and storyboard, and the links a video
is listed with: signed only while unpublished, stable for a quarter of their life, refused once
expired, forged, or signed for another video."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest

from anb_common.aws import Aws
from anb_gateway.media_links import MediaLinks
from anb_gateway.storage import S3Storage

KEY = "k" * 32
TTL_S = 3600
BASE = "https://anb.example"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def storage(aws: Aws) -> AsyncIterator[S3Storage]:
    opened = S3Storage(aws, expiry_s=TTL_S)
    await opened.start()
    yield opened
    await opened.close()


def _params(url: str) -> tuple[str | None, str | None]:
    query = parse_qs(urlsplit(url).query)
    return query.get("expires", [None])[0], query.get("signature", [None])[0]


async def test_an_unpublished_video_s_links_are_signed_and_valid_until_they_expire(
    storage: S3Storage,
) -> None:
    clock = Clock(1_800_000_000.0)
    links = MediaLinks(KEY, TTL_S, storage, clock)
    video_id = uuid.uuid4()
    urls = await links.urls(
        BASE, video_id, published=False, poster_key=None, storyboard_key="s.vtt", hls_key="i.m3u8"
    )
    assert urls.hls_url is not None
    assert urls.storyboard_url is not None
    assert urls.poster_url is None
    assert urls.hls_url.startswith(f"{BASE}/api/videos/{video_id}/hls.m3u8?")
    assert urls.storyboard_url.startswith(f"{BASE}/api/videos/{video_id}/storyboard.vtt?")
    expires, signature = _params(urls.hls_url)
    assert expires is not None
    assert TTL_S * 3 / 4 <= int(expires) - clock.now <= TTL_S
    assert links.valid(video_id, expires, signature)
    assert _params(urls.storyboard_url) == (expires, signature)
    clock.now = int(expires)
    assert not links.valid(video_id, expires, signature)


async def test_links_stay_the_same_for_a_quarter_of_their_life(storage: S3Storage) -> None:
    clock = Clock(1_800_000_000.0)
    links = MediaLinks(KEY, TTL_S, storage, clock)
    video_id = uuid.uuid4()
    first = links.signed_query(video_id)
    seen = {first}
    for _ in range(10):
        clock.now += TTL_S / 40
        seen.add(links.signed_query(video_id))
    assert 1 <= len(seen) <= 2  # one boundary at most in a quarter of the lifetime
    clock.now += TTL_S
    assert links.signed_query(video_id) not in seen


@pytest.mark.parametrize(
    "tamper",
    [
        "another video",
        "later expiry",
        "other key",
        "missing signature",
        "missing expiry",
        "not a number",
        "truncated signature",
        "a digit that is not ASCII",
        "a signature that is not ASCII",
    ],
)
async def test_forged_links_are_refused(storage: S3Storage, tamper: str) -> None:
    clock = Clock(1_800_000_000.0)
    links = MediaLinks(KEY, TTL_S, storage, clock)
    video_id = uuid.uuid4()
    expires, signature = _params("?" + links.signed_query(video_id))
    assert expires is not None
    assert signature is not None
    checked_id = video_id
    if tamper == "another video":
        checked_id = uuid.uuid4()
    elif tamper == "later expiry":
        expires = str(int(expires) + 3600)
    elif tamper == "other key":
        expires, signature = _params("?" + MediaLinks("o" * 32, TTL_S, storage, clock).signed_query(video_id))
    elif tamper == "missing signature":
        signature = None
    elif tamper == "missing expiry":
        expires = None
    elif tamper == "not a number":
        expires = expires + "x"
    elif tamper == "a digit that is not ASCII":
        expires = expires + "\u00b2"  # str.isdigit() says yes, int() says no
    elif tamper == "a signature that is not ASCII":
        signature = signature[:-1] + "\u00e9"  # hmac.compare_digest refuses such a str
    else:
        signature = signature[:-2]
    assert not links.valid(checked_id, expires, signature)


async def test_a_published_video_s_links_are_plain_and_its_poster_is_presigned(storage: S3Storage) -> None:
    links = MediaLinks(KEY, TTL_S, storage)
    video_id = uuid.uuid4()
    urls = await links.urls(
        BASE, video_id, published=True, poster_key="processed/x/poster-0.jpg", storyboard_key="s", hls_key="h"
    )
    assert urls.hls_url == f"{BASE}/api/videos/{video_id}/hls.m3u8"
    assert urls.storyboard_url == f"{BASE}/api/videos/{video_id}/storyboard.vtt"
    assert urls.poster_url is not None
    assert "X-Amz-Signature=" in urls.poster_url
    none = await links.urls(
        BASE, video_id, published=False, poster_key=None, storyboard_key=None, hls_key=None
    )
    assert (none.poster_url, none.storyboard_url, none.hls_url) == (None, None, None)
