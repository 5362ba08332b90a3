"""Published videos, votes (one per user and video, also under concurrency) and rankings."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from anb_common.db.models import VideoStatus
from gateway.conftest import Player, Videos, sign_up

CITY = f"Ciudad-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
async def league(api: httpx.AsyncClient, videos: Videos) -> dict[str, object]:
    """Three players in one city (fresh, so rankings there are ours alone) with published videos,
    and three voters; votes: star 3, second 1, third 0."""
    star, second, third = [
        await sign_up(api, name, "Liga", CITY) for name in ("Estrella", "Segundo", "Tercero")
    ]
    voters = [await sign_up(api, f"Votante{i}", "Liga", "Tunja") for i in range(3)]
    clips = {}
    for player in (star, second, third):
        video_id = await videos.add(
            player.user_id, VideoStatus.PROCESSED, processed=b"clip " + player.first_name.encode()
        )
        assert (await api.post(f"/api/videos/{video_id}/publish", headers=player.auth)).status_code == 200
        clips[player.first_name] = video_id
    for voter in voters:
        assert (
            await api.post(f"/api/public/videos/{clips['Estrella']}/vote", headers=voter.auth)
        ).status_code == 200
    assert (
        await api.post(f"/api/public/videos/{clips['Segundo']}/vote", headers=voters[0].auth)
    ).status_code == 200
    return {"players": (star, second, third), "voters": voters, "clips": clips}


async def test_vote_is_registered(
    api: httpx.AsyncClient, voter: Player, owner: Player, videos: Videos
) -> None:
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSED, published=True, processed=b"p")
    response = await api.post(f"/api/public/videos/{video_id}/vote", headers=voter.auth)
    assert response.status_code == 200
    assert response.json() == {"message": "Voto registrado exitosamente."}
    assert (await api.get(f"/api/videos/{video_id}", headers=owner.auth)).json()["votes"] == 1


async def test_second_vote_is_400(
    api: httpx.AsyncClient, voter: Player, owner: Player, videos: Videos
) -> None:
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSED, published=True)
    assert (await api.post(f"/api/public/videos/{video_id}/vote", headers=voter.auth)).status_code == 200
    again = await api.post(f"/api/public/videos/{video_id}/vote", headers=voter.auth)
    assert again.status_code == 400
    assert again.json() == {"status_code": 400, "detail": "Ya has votado por este video."}


async def test_concurrent_duplicate_votes_count_once(
    api: httpx.AsyncClient, voter: Player, owner: Player, videos: Videos
) -> None:
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSED, published=True)
    responses = await asyncio.gather(
        *(api.post(f"/api/public/videos/{video_id}/vote", headers=voter.auth) for _ in range(12))
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [400] * 11
    assert (await api.get(f"/api/videos/{video_id}", headers=owner.auth)).json()["votes"] == 1


async def test_vote_for_unpublished_missing_or_malformed_is_404(
    api: httpx.AsyncClient, voter: Player, owner: Player, videos: Videos
) -> None:
    unpublished = await videos.add(owner.user_id, VideoStatus.PROCESSED)
    for target in (unpublished, uuid.uuid4(), "no-es-un-id"):
        response = await api.post(f"/api/public/videos/{target}/vote", headers=voter.auth)
        assert response.status_code == 404
        assert set(response.json()) == {"status_code", "detail"}


async def test_vote_without_token_is_401(api: httpx.AsyncClient, owner: Player, videos: Videos) -> None:
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSED, published=True)
    assert (await api.post(f"/api/public/videos/{video_id}/vote")).status_code == 401


async def test_public_videos_most_voted_first_with_city_filter(
    api: httpx.AsyncClient, league: dict[str, object]
) -> None:
    response = await api.get("/api/public/videos", params={"city": CITY})
    assert response.status_code == 200
    items = response.json()
    assert [item["username"] for item in items] == ["Estrella Liga", "Segundo Liga", "Tercero Liga"]
    assert [item["votes"] for item in items] == [3, 1, 0]
    for item in items:
        assert set(item) == {
            "video_id", "title", "username", "city", "votes", "processed_url",
            "poster_url", "storyboard_url", "hls_url",
        }  # fmt: skip
        assert item["city"] == CITY
    async with httpx.AsyncClient() as plain:
        assert (await plain.get(items[0]["processed_url"])).content == b"clip Estrella"


async def test_public_videos_pagination_and_no_auth_needed(
    api: httpx.AsyncClient, league: dict[str, object]
) -> None:
    page = (await api.get("/api/public/videos", params={"city": CITY, "limit": 1, "offset": 1})).json()
    assert [item["username"] for item in page] == ["Segundo Liga"]
    everyone = (await api.get("/api/public/videos")).json()
    assert 1 <= len(everyone) <= 20
    assert [item["votes"] for item in everyone] == sorted((item["votes"] for item in everyone), reverse=True)


async def test_unpublished_videos_are_not_public(
    api: httpx.AsyncClient, owner: Player, videos: Videos
) -> None:
    hidden = await videos.add(owner.user_id, VideoStatus.PROCESSED, title="oculto")
    listed = (await api.get("/api/public/videos", params={"limit": 100})).json()
    assert str(hidden) not in {item["video_id"] for item in listed}


async def test_rankings_order_positions_and_city(api: httpx.AsyncClient, league: dict[str, object]) -> None:
    response = await api.get("/api/public/rankings", params={"city": CITY})
    assert response.status_code == 200
    assert response.json() == [
        {"position": 1, "username": "Estrella Liga", "city": CITY, "votes": 3},
        {"position": 2, "username": "Segundo Liga", "city": CITY, "votes": 1},
        {"position": 3, "username": "Tercero Liga", "city": CITY, "votes": 0},
    ]
    page = (await api.get("/api/public/rankings", params={"city": CITY, "limit": 2, "offset": 1})).json()
    assert [(row["position"], row["username"]) for row in page] == [(2, "Segundo Liga"), (3, "Tercero Liga")]
    overall = (await api.get("/api/public/rankings", params={"limit": 100})).json()
    assert [row["position"] for row in overall] == list(range(1, len(overall) + 1))
    assert [row["votes"] for row in overall] == sorted((row["votes"] for row in overall), reverse=True)
    assert (await api.get("/api/public/rankings", params={"city": "Ninguna"})).json() == []


async def test_a_vote_shows_in_the_ranking_at_once(
    api: httpx.AsyncClient, voter: Player, videos: Videos
) -> None:
    city = f"Villa-{uuid.uuid4().hex[:6]}"
    player = await sign_up(api, "Nuevo", "Jugador", city)
    clip = await videos.add(player.user_id, VideoStatus.PROCESSED)
    assert (await api.post(f"/api/videos/{clip}/publish", headers=player.auth)).status_code == 200
    before = (await api.get("/api/public/rankings", params={"city": city})).json()
    assert before == [{"position": 1, "username": "Nuevo Jugador", "city": city, "votes": 0}]
    assert (await api.post(f"/api/public/videos/{clip}/vote", headers=voter.auth)).status_code == 200
    after = (await api.get("/api/public/rankings", params={"city": city})).json()
    assert after[0]["votes"] == 1


@pytest.mark.parametrize("path", ["/api/public/rankings", "/api/public/videos"])
@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"limit": "veinte"}, {"offset": -1}, {"city": ""}, {"city": "x" * 101}],
)
async def test_invalid_parameters_are_400(
    api: httpx.AsyncClient, path: str, params: dict[str, object]
) -> None:
    response = await api.get(path, params=params)  # type: ignore[arg-type]
    assert response.status_code == 400
    body = response.json()
    assert body["status_code"] == 400
    assert body["detail"].split(":")[0] in params
