"""Who may call what: owner, another user and an anonymous caller against every endpoint."""

from __future__ import annotations

import httpx
import pytest

from anb_common.db.models import VideoStatus
from gateway.conftest import Player, Videos

OWNER, OTHER, ANONYMOUS = "owner", "other", "anonymous"

# (method, path template, expected status for owner / other user / anonymous). {id} is a fresh,
# processed, unpublished video of the owner's for each call; {pub} a published one.
MATRIX = [
    ("GET", "/api/videos", {OWNER: 200, OTHER: 200, ANONYMOUS: 401}),
    ("GET", "/api/videos/{id}", {OWNER: 200, OTHER: 403, ANONYMOUS: 401}),
    ("DELETE", "/api/videos/{id}", {OWNER: 200, OTHER: 403, ANONYMOUS: 401}),
    ("POST", "/api/videos/{id}/publish", {OWNER: 200, OTHER: 403, ANONYMOUS: 401}),
    ("PUT", "/api/videos/{id}/publish", {OWNER: 200, OTHER: 403, ANONYMOUS: 401}),
    ("POST", "/api/videos/upload", {OWNER: 400, OTHER: 400, ANONYMOUS: 401}),
    ("GET", "/api/public/videos", {OWNER: 200, OTHER: 200, ANONYMOUS: 200}),
    ("GET", "/api/public/rankings", {OWNER: 200, OTHER: 200, ANONYMOUS: 200}),
    ("POST", "/api/public/videos/{pub}/vote", {OWNER: 200, OTHER: 200, ANONYMOUS: 401}),
    ("GET", "/api/health", {OWNER: 200, OTHER: 200, ANONYMOUS: 200}),
    ("GET", "/api/openapi.json", {OWNER: 200, OTHER: 200, ANONYMOUS: 200}),
]


@pytest.mark.parametrize("caller", [OWNER, OTHER, ANONYMOUS])
@pytest.mark.parametrize(("method", "template", "expected"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
async def test_authorization_matrix(
    api: httpx.AsyncClient,
    owner: Player,
    other: Player,
    videos: Videos,
    caller: str,
    method: str,
    template: str,
    expected: dict[str, int],
) -> None:
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSED, original=b"o", processed=b"p")
    published = await videos.add(owner.user_id, VideoStatus.PROCESSED, published=True, processed=b"p")
    path = template.format(id=video_id, pub=published)
    auth = {OWNER: owner.auth, OTHER: other.auth, ANONYMOUS: {}}[caller]
    # The upload body is deliberately not multipart: past authentication it is a 400, before it a 401.
    response = await api.request(method, path, headers=auth, content=b"{}" if "upload" in path else None)
    assert response.status_code == expected[caller], response.text
    if response.status_code >= 400:
        assert set(response.json()) == {"status_code", "detail"}
    if caller != OWNER and expected[OWNER] != expected[caller] and "{id}" in template:
        assert await videos.exists(video_id)
        body = (await api.get(f"/api/videos/{video_id}", headers=owner.auth)).json()
        assert body["published"] is False


async def test_identity_comes_only_from_the_token(
    api: httpx.AsyncClient, owner: Player, other: Player
) -> None:
    """A user id in the query or body changes nothing: the token decides whose videos are listed."""
    mine = (await api.get("/api/videos", params={"limit": 100}, headers=other.auth)).json()
    spoofed = (
        await api.get("/api/videos", params={"limit": 100, "user_id": str(owner.user_id)}, headers=other.auth)
    ).json()
    assert mine == spoofed
