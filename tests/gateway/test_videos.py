"""The caller's videos: listing, detail, presigned links, delete (also while processing), publish."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common import keys, reasons
from anb_common.aws import Aws
from anb_common.db.models import Video, VideoStatus
from anb_common.reasons import ProcessingFailure, Reason
from anb_devstack.invariants import Scope, output_problems
from anb_gateway import wording
from gateway.conftest import Player, Videos, sign_up


@pytest.fixture(scope="module")
async def lister(api: httpx.AsyncClient) -> Player:
    return await sign_up(api, "Lina", "Mora", "Pasto")


async def test_list_is_newest_first_with_processed_fields_only_when_processed(
    api: httpx.AsyncClient, lister: Player, videos: Videos
) -> None:
    base = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
    old = await videos.add(lister.user_id, VideoStatus.PROCESSED, uploaded_at=base, processed=b"mp4")
    new = await videos.add(lister.user_id, VideoStatus.PROCESSING, uploaded_at=base + timedelta(hours=1))
    response = await api.get("/api/videos", headers=lister.auth)
    assert response.status_code == 200
    items = response.json()
    assert [item["video_id"] for item in items] == [str(new), str(old)]
    for item in items:
        assert set(item) == {
            "video_id", "title", "status", "uploaded_at", "processed_at", "processed_url",
            "poster_url", "storyboard_url", "hls_url",
        }  # fmt: skip
    assert items[0]["status"] == "processing"
    assert items[0]["processed_at"] is None
    assert items[0]["processed_url"] is None
    assert items[1]["status"] == "processed"
    assert items[1]["uploaded_at"] == "2026-03-10T14:30:00Z"
    assert items[1]["processed_at"].endswith("Z")
    async with httpx.AsyncClient() as plain:
        assert (await plain.get(items[1]["processed_url"])).content == b"mp4"


async def test_list_paginates(api: httpx.AsyncClient, lister: Player) -> None:
    first = (await api.get("/api/videos", params={"limit": 1}, headers=lister.auth)).json()
    second = (await api.get("/api/videos", params={"limit": 1, "offset": 1}, headers=lister.auth)).json()
    past = (await api.get("/api/videos", params={"offset": 1000}, headers=lister.auth)).json()
    assert len(first) == len(second) == 1
    assert first != second
    assert past == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"offset": -1}, "offset"),
        ({"limit": "x"}, "limit"),
    ],
)
async def test_list_pagination_bounds(
    api: httpx.AsyncClient, lister: Player, params: dict[str, object], field: str
) -> None:
    response = await api.get("/api/videos", params=params, headers=lister.auth)  # type: ignore[arg-type]
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}:")


async def test_list_bounds_accept_the_edges(api: httpx.AsyncClient, lister: Player) -> None:
    for limit in (1, 100):
        assert (await api.get("/api/videos", params={"limit": limit}, headers=lister.auth)).status_code == 200


async def listing_once(api: httpx.AsyncClient, player: Player) -> list[dict[str, Any]]:
    response = await api.get("/api/videos", headers=player.auth)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()
    return items


async def listing_when(
    api: httpx.AsyncClient, player: Player, condition: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The listing once ``condition`` holds, or the last one seen after a generous deadline: changes
    made by other processes reach the gateway's cached listing by a database notice, within
    milliseconds; only a notice that never comes should fail a test, not a slow machine."""
    deadline = time.monotonic() + 30
    while True:
        items = await listing_once(api, player)
        if condition(items) or time.monotonic() > deadline:
            return items
        await asyncio.sleep(0.05)


async def test_the_listing_follows_changes_written_by_other_services(
    api: httpx.AsyncClient, videos: Videos, sessions: async_sessionmaker[AsyncSession]
) -> None:
    player = await sign_up(api, "Rosa", "Vega", "Tunja")
    assert await listing_once(api, player) == []
    # Ingest records an upload...
    video_id = await videos.add(player.user_id)
    items = await listing_when(api, player, lambda items: len(items) == 1)
    assert [(item["video_id"], item["status"]) for item in items] == [(str(video_id), "uploaded")]
    # ...and the transcoder finishes it.
    async with sessions.begin() as session:
        await session.execute(
            update(Video)
            .where(Video.id == video_id)
            .values(
                status=VideoStatus.PROCESSED,
                processed_key=f"processed/{video_id}.mp4",
                processed_at=datetime.now(UTC),
            )
        )
    items = await listing_when(api, player, lambda items: items[0]["status"] == "processed")
    assert items[0]["status"] == "processed"
    assert items[0]["processed_url"] is not None


async def test_a_deleted_video_leaves_the_listing_at_once(api: httpx.AsyncClient, videos: Videos) -> None:
    player = await sign_up(api, "Iván", "Lara", "Neiva")
    kept, removed = await videos.add(player.user_id), await videos.add(player.user_id)
    listed = await listing_when(api, player, lambda items: len(items) == 2)
    assert {item["video_id"] for item in listed} == {str(kept), str(removed)}
    assert (await api.delete(f"/api/videos/{removed}", headers=player.auth)).status_code == 200
    # No waiting: the process that deleted it forgets the listing itself.
    assert [item["video_id"] for item in await listing_once(api, player)] == [str(kept)]


async def test_detail_of_a_processed_video_has_links_that_download(
    api: httpx.AsyncClient, owner: Player, videos: Videos
) -> None:
    video_id = await videos.add(
        owner.user_id, VideoStatus.PROCESSED, original=b"original bytes", processed=b"processed bytes"
    )
    response = await api.get(f"/api/videos/{video_id}", headers=owner.auth)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "video_id", "title", "status", "uploaded_at", "processed_at", "original_url", "processed_url",
        "poster_url", "storyboard_url", "hls_url", "votes", "published", "progress", "error",
    }  # fmt: skip
    assert body["video_id"] == str(video_id)
    assert body["status"] == "processed"
    assert body["votes"] == 0
    assert body["published"] is False
    assert body["progress"] == 100
    assert body["error"] is None
    assert "X-Amz-Expires=3600" in body["original_url"]
    async with httpx.AsyncClient() as plain:
        assert (await plain.get(body["original_url"])).content == b"original bytes"
        assert (await plain.get(body["processed_url"])).content == b"processed bytes"


async def test_detail_while_processing_shows_progress(
    api: httpx.AsyncClient, owner: Player, videos: Videos
) -> None:
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSING, progress=42)
    body = (await api.get(f"/api/videos/{video_id}", headers=owner.auth)).json()
    assert body["status"] == "processing"
    assert body["progress"] == 42
    assert body["processed_at"] is None
    assert body["processed_url"] is None
    assert body["error"] is None


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (
            reasons.encode(Reason(ProcessingFailure.GAVE_UP, {"attempts": 3})),
            "No pudimos procesar el video tras 3 intentos por un problema de nuestra parte. Súbalo de nuevo.",
        ),
        # Stored before reasons were codes (English, for logs): never shown, a Spanish sentence instead.
        ("We could not process your video after several attempts.", wording.PROCESSING_FAILED),
        (None, wording.PROCESSING_FAILED),
    ],
)
async def test_detail_of_a_failed_video_says_why_in_spanish(
    api: httpx.AsyncClient, owner: Player, videos: Videos, stored: str | None, shown: str
) -> None:
    video_id = await videos.add(owner.user_id, VideoStatus.FAILED, failure_reason=stored)
    body = (await api.get(f"/api/videos/{video_id}", headers=owner.auth)).json()
    assert body["status"] == "failed"
    assert body["error"] == shown
    assert body["progress"] is None


async def test_detail_of_a_queued_video(api: httpx.AsyncClient, owner: Player, videos: Videos) -> None:
    video_id = await videos.add(owner.user_id)
    body = (await api.get(f"/api/videos/{video_id}", headers=owner.auth)).json()
    assert body["status"] == "uploaded"
    assert body["progress"] == 0
    assert body["error"] is None


async def test_detail_of_someone_elses_video_is_403(
    api: httpx.AsyncClient, owner: Player, other: Player, videos: Videos
) -> None:
    video_id = await videos.add(owner.user_id)
    response = await api.get(f"/api/videos/{video_id}", headers=other.auth)
    assert response.status_code == 403
    assert response.json() == {"status_code": 403, "detail": "El video pertenece a otro usuario."}


@pytest.mark.parametrize("video_id", [str(uuid.uuid4()), "not-a-uuid", "1234"])
async def test_detail_of_no_video_is_404(api: httpx.AsyncClient, owner: Player, video_id: str) -> None:
    response = await api.get(f"/api/videos/{video_id}", headers=owner.auth)
    assert response.status_code == 404
    assert response.json() == {"status_code": 404, "detail": "Video no encontrado."}


async def test_delete_removes_row_and_objects(api: httpx.AsyncClient, owner: Player, videos: Videos) -> None:
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSED, original=b"o", processed=b"p")
    assert len(await videos.object_keys(video_id)) == 2
    response = await api.delete(f"/api/videos/{video_id}", headers=owner.auth)
    assert response.status_code == 200
    assert response.json() == {
        "message": "El video ha sido eliminado exitosamente.",
        "video_id": str(video_id),
    }
    assert not await videos.exists(video_id)
    assert await videos.object_keys(video_id) == []
    assert (await api.get(f"/api/videos/{video_id}", headers=owner.auth)).status_code == 404


async def test_delete_while_processing_removes_everything(
    api: httpx.AsyncClient, owner: Player, videos: Videos
) -> None:
    # The worker has the original and has already written part of its output.
    video_id = await videos.add(
        owner.user_id, VideoStatus.PROCESSING, progress=60, original=b"o", processed=b"p"
    )
    response = await api.delete(f"/api/videos/{video_id}", headers=owner.auth)
    assert response.status_code == 200
    assert not await videos.exists(video_id)
    assert await videos.object_keys(video_id) == []


PLAYLIST = '#EXTM3U\n#EXT-X-MAP:URI="init.mp4"\n#EXTINF:2.0,\nsegment-000.m4s\n#EXT-X-ENDLIST\n'
RENDITION = {"index.m3u8": PLAYLIST.encode(), "init.mp4": b"init", "segment-000.m4s": b"segment"}


@pytest.mark.parametrize("status", [VideoStatus.PROCESSED, VideoStatus.PROCESSING])
async def test_delete_removes_every_derivative_and_the_checker_finds_no_orphan(
    api: httpx.AsyncClient,
    owner: Player,
    videos: Videos,
    aws: Aws,
    service_env: dict[str, str],
    tmp_path: Any,
    status: VideoStatus,
) -> None:
    # PROCESSING: the worker has written the pictures and the rendition but not recorded them yet
    # (the row names none of them); a poster of an earlier pick is left over too.
    video_id = await videos.add(owner.user_id, status, original=b"o", processed=b"p")
    recorded = status is VideoStatus.PROCESSED
    await videos.derive(video_id, storyboard="WEBVTT\n", hls=RENDITION, recorded=recorded)
    async with aws.s3() as s3:
        await s3.put_object(Bucket=aws.settings.bucket, Key=keys.poster_key(video_id, 7), Body=b"old")
    assert len(await videos.object_keys(video_id)) == 9
    response = await api.delete(f"/api/videos/{video_id}", headers=owner.auth)
    assert response.status_code == 200
    assert await videos.object_keys(video_id) == []
    scope = Scope(aws=aws.settings, db_url=service_env["ANB_DB_URL"], temp_dir=tmp_path)
    assert await output_problems(scope, [video_id]) == []


async def test_delete_of_a_published_video_is_400(
    api: httpx.AsyncClient, owner: Player, videos: Videos
) -> None:
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSED, published=True, original=b"o")
    response = await api.delete(f"/api/videos/{video_id}", headers=owner.auth)
    assert response.status_code == 400
    assert "publicado" in response.json()["detail"]
    assert await videos.exists(video_id)
    assert await videos.object_keys(video_id) == [f"uploads/{video_id}.mp4"]


async def test_delete_of_someone_elses_video_is_403(
    api: httpx.AsyncClient, owner: Player, other: Player, videos: Videos
) -> None:
    video_id = await videos.add(owner.user_id, original=b"o")
    assert (await api.delete(f"/api/videos/{video_id}", headers=other.auth)).status_code == 403
    assert await videos.exists(video_id)


@pytest.mark.parametrize("video_id", [str(uuid.uuid4()), "nope"])
async def test_delete_of_no_video_is_404(api: httpx.AsyncClient, owner: Player, video_id: str) -> None:
    assert (await api.delete(f"/api/videos/{video_id}", headers=owner.auth)).status_code == 404


# Clients written against other implementations of this API publish with PUT: it answers as POST does.
PUBLISH_METHODS = pytest.mark.parametrize("method", ["POST", "PUT"])


@PUBLISH_METHODS
async def test_publish_a_processed_video(
    api: httpx.AsyncClient, owner: Player, videos: Videos, method: str
) -> None:
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSED, processed=b"p")
    response = await api.request(method, f"/api/videos/{video_id}/publish", headers=owner.auth)
    assert response.status_code == 200
    assert response.json() == {
        "message": "El video ha sido publicado para votación.",
        "video_id": str(video_id),
    }
    assert (await api.get(f"/api/videos/{video_id}", headers=owner.auth)).json()["published"] is True
    again = await api.request(method, f"/api/videos/{video_id}/publish", headers=owner.auth)
    assert again.status_code == 400
    assert "ya está publicado" in again.json()["detail"]


@PUBLISH_METHODS
@pytest.mark.parametrize("status", [VideoStatus.UPLOADED, VideoStatus.PROCESSING, VideoStatus.FAILED])
async def test_publish_before_processing_is_400(
    api: httpx.AsyncClient, owner: Player, videos: Videos, status: VideoStatus, method: str
) -> None:
    video_id = await videos.add(owner.user_id, status)
    response = await api.request(method, f"/api/videos/{video_id}/publish", headers=owner.auth)
    assert response.status_code == 400
    assert response.json()["detail"] == "El video aún no ha sido procesado."


@PUBLISH_METHODS
async def test_publish_someone_elses_or_no_video(
    api: httpx.AsyncClient, owner: Player, other: Player, videos: Videos, method: str
) -> None:
    video_id = await videos.add(owner.user_id, VideoStatus.PROCESSED)
    publish = f"/api/videos/{video_id}/publish"
    assert (await api.request(method, publish, headers=other.auth)).status_code == 403
    assert (
        await api.request(method, f"/api/videos/{uuid.uuid4()}/publish", headers=owner.auth)
    ).status_code == 404
    assert (await api.request(method, "/api/videos/xyz/publish", headers=owner.auth)).status_code == 404
