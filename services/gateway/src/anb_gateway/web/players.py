"""A player's own pages: "my videos" (followed live), publish, delete with a confirmation, the poster,
and the upload page with its relay. Every action is the API's own request with the session's token,
so the rules and the Spanish answers are the API's."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.response import Template

from anb_gateway.streamed_upload import drain
from anb_gateway.web.parts import (
    LoginRequired,
    Player,
    Web,
    go,
    headers,
    is_htmx,
    page,
    player,
    wants_json,
    with_media,
)
from anb_gateway.web.visitors import PAGE_SIZE, PageNumber, WebDep

# Videos whose detail the status feed answers at once (a page shows PAGE_SIZE).
_MOST_FOLLOWED = 50


async def _detail(request: Request[Any, Any, Any], web: Web, who: Player, video_id: str) -> dict[str, Any]:
    answer = await web.api.call(request, "GET", f"/api/videos/{video_id}", token=who.token)
    if answer.status == 401:
        raise LoginRequired()
    if not answer.ok:
        raise HTTPException(status_code=answer.status, detail=answer.detail)
    return with_media(answer.json())


def _event(detail: dict[str, Any]) -> dict[str, Any]:
    """A video's state in the shape of the events endpoint's ``video`` event."""
    return {name: detail.get(name) for name in ("video_id", "status", "progress", "error", "processed_at")}


@get("/my-videos", name="my_videos")
async def my_videos(
    request: Request[Any, Any, Any],
    web: WebDep,
    page_number: PageNumber = 1,
) -> Template:
    who = player(request, web)
    listed = await web.api.call(
        request,
        "GET",
        "/api/videos",
        token=who.token,
        query={"limit": PAGE_SIZE + 1, "offset": (page_number - 1) * PAGE_SIZE},
    )
    if listed.status == 401:
        raise LoginRequired()
    rows = listed.json()
    # The listing has no progress, error or publication: the detail of each video on the page does.
    videos = [{**row, **await _detail(request, web, who, row["video_id"])} for row in rows[:PAGE_SIZE]]
    return page(
        request,
        web,
        "my_videos.html",
        videos=videos,
        more=len(rows) > PAGE_SIZE,
        number=page_number,
    )


@get("/my-videos/status", name="my_videos_status")
async def status(request: Request[Any, Any, Any], web: WebDep, ids: str = "") -> Response[Any]:
    """The state of the listed videos (``ids``, comma-separated), for the page that follows them while
    ``/api/videos/events`` is not there: the same fields as its events."""
    who = player(request, web)
    wanted = [part for part in ids.split(",") if part][:_MOST_FOLLOWED]
    states = []
    for video_id in wanted:
        try:
            states.append(_event(await _detail(request, web, who, str(uuid.UUID(video_id)))))
        except (ValueError, HTTPException) as exc:
            if isinstance(exc, LoginRequired):
                raise
            states.append({"video_id": video_id, "status": "deleted"})
    return Response(states, headers=headers(web))


@get("/my-videos/{video_id:uuid}/row", name="my_video_row")
async def row(request: Request[Any, Any, Any], web: WebDep, video_id: uuid.UUID) -> Template:
    who = player(request, web)
    video = await _detail(request, web, who, str(video_id))
    return page(request, web, "_video_row.html", video=video)


@post("/my-videos/{video_id:uuid}/publish", name="publish", status_code=200)
async def publish(request: Request[Any, Any, Any], web: WebDep, video_id: uuid.UUID) -> Response[Any]:
    who = player(request, web)
    answer = await web.api.call(request, "POST", f"/api/videos/{video_id}/publish", token=who.token)
    if answer.ok:
        web.public_changed()
    if is_htmx(request):
        video = await _detail(request, web, who, str(video_id))
        return page(request, web, "_video_row.html", video=video, said=answer.detail)
    if not answer.ok:
        return _message(request, web, answer.status, answer.detail)
    return go(request, web, "/my-videos", "published")


@get("/my-videos/{video_id:uuid}/delete", name="confirm_delete")
async def confirm_delete(request: Request[Any, Any, Any], web: WebDep, video_id: uuid.UUID) -> Template:
    who = player(request, web)
    video = await _detail(request, web, who, str(video_id))
    return page(request, web, "confirm_delete.html", video=video)


@post("/my-videos/{video_id:uuid}/delete", name="delete", status_code=200)
async def delete(request: Request[Any, Any, Any], web: WebDep, video_id: uuid.UUID) -> Response[Any]:
    who = player(request, web)
    answer = await web.api.call(request, "DELETE", f"/api/videos/{video_id}", token=who.token)
    if not answer.ok:
        return _message(request, web, answer.status, answer.detail)
    return go(request, web, "/my-videos", "deleted")


@post("/my-videos/{video_id:uuid}/poster", name="poster", status_code=200)
async def poster(request: Request[Any, Any, Any], web: WebDep, video_id: uuid.UUID) -> Response[Any]:
    who = player(request, web)
    form = await request.form()
    try:
        moment = float(str(form.get("time_s", "")).replace(",", "."))
    except ValueError:
        moment = -1.0
    answer = await web.api.call(
        request, "POST", f"/api/videos/{video_id}/poster", token=who.token, json={"time_s": moment}
    )
    if not answer.ok:
        return _message(request, web, answer.status, answer.detail)
    web.public_changed()
    return go(request, web, "/my-videos", "poster")


def _message(request: Request[Any, Any, Any], web: Web, status_code: int, detail: str) -> Template:
    return page(request, web, "message.html", status_code=status_code, detail=detail)


@get("/upload", name="upload")
async def upload_page(request: Request[Any, Any, Any], web: WebDep) -> Template:
    player(request, web)
    return page(request, web, "upload.html", limits=web.limits, error=None)


@post("/upload", name="upload_post", status_code=200, request_max_body_size=None)
async def upload(request: Request[Any, Any, Any], web: WebDep) -> Response[Any]:
    """The one-request upload (``POST /api/videos/upload``), the body relayed as it streams; the page
    uses it where ``/api/uploads/`` (tus) is not there."""
    try:
        who = player(request, web)
    except LoginRequired:
        await drain(request)  # a client still sending would otherwise see a reset, not the answer
        raise
    sent = {
        name: request.headers[name] for name in ("content-type", "content-length") if name in request.headers
    }
    answer = await web.api.call(
        request, "POST", "/api/videos/upload", token=who.token, relay_body=True, headers=sent
    )
    if answer.status == 202:
        web.public_changed()
    if wants_json(request):
        relayed = {**headers(web), "Content-Type": "application/json"}
        for name in ("retry-after", "connection"):
            if name in answer.headers:
                relayed[name.title()] = answer.headers[name]
        return Response(answer.body, status_code=answer.status, headers=relayed)
    if answer.status == 202:
        return go(request, web, "/my-videos", "uploaded")
    return page(
        request, web, "upload.html", status_code=answer.status, limits=web.limits, error=answer.detail
    )
