"""What anyone can see and do: the gallery, a video's page (and its share links), the rankings, and
voting (which needs a session: a visitor is sent to log in, then back to the video)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, TypeAlias

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import Parameter, SkipValidation
from litestar.response import Redirect, Template
from markupsafe import Markup

from anb_gateway.deps import PoolDep
from anb_gateway.web import i18n, queries
from anb_gateway.web.parts import (
    Web,
    context,
    go,
    here,
    html,
    is_htmx,
    login_url,
    page,
    safe_next,
    viewer,
    with_media,
)

WebDep: TypeAlias = NamedDependency[SkipValidation[Web]]
PAGE_SIZE = 12
# Stands for a visitor's form token in a kept page; no token can contain it (tokens are base64url).
_TOKEN_SLOT = "@@csrf@@"  # noqa: S105 - a placeholder, not a secret
_TOKEN_SLOT_BYTES = _TOKEN_SLOT.encode()
PageNumber = Annotated[int, Parameter(query="page", ge=1, le=10_000)]
CityFilter = Annotated[str | None, Parameter(max_length=100)]


async def _listing_page(
    request: Request[Any, Any, Any], web: Web, pool: PoolDep, path: str, city: str | None, number: int
) -> dict[str, Any]:
    """One page of a public listing as the API answers it, and what its template needs around it."""
    chosen = (city or "").strip() or None
    offset = (number - 1) * PAGE_SIZE
    key = (path, chosen, offset)
    rows = web.listings.get(key)
    if rows is None:
        # One row more than shown, to know whether another page follows.
        answer = await web.api.call(
            request, "GET", path, query={"city": chosen, "limit": PAGE_SIZE + 1, "offset": offset}
        )
        if not answer.ok:
            raise HTTPException(status_code=answer.status, detail=answer.detail)
        rows = web.listings.put(key, [with_media(row) for row in answer.json()])
    cities = web.cities.get(None)
    if cities is None:
        cities = web.cities.put(None, await queries.ranked_cities(pool))
    return {
        "rows": rows[:PAGE_SIZE],
        "more": len(rows) > PAGE_SIZE,
        "number": number,
        "city": chosen,
        "cities": cities,
    }


@get("/", name="gallery")
async def gallery(
    request: Request[Any, Any, Any],
    web: WebDep,
    pool: PoolDep,
    city: CityFilter = None,
    page_number: PageNumber = 1,
) -> Response[Any]:
    listing = await _listing_page(request, web, pool, "/api/public/videos", city, page_number)
    catalogue = i18n.for_connection(request)
    key = (catalogue.locale, listing["city"], page_number)
    cards = web.cards.get(key)
    if cards is None:
        template = request.app.template_engine.get_template("_cards.html")  # type: ignore[union-attr]
        # Rendered by Jinja with autoescape: what a player typed is escaped inside.
        cards = web.cards.put(key, Markup(template.render(t=catalogue, rows=listing["rows"], said=None)))  # noqa: S704
    if viewer(request, web) is not None or "notice" in request.query_params:
        return page(request, web, "gallery.html", cards=cards, **listing)
    # A visitor's gallery differs from another's by its form token only: the page is kept with a
    # placeholder for it, like the cards, so that a crowd of visitors costs a lookup and a replace.
    address = here(request)
    kept = web.visitor_pages.get((catalogue.locale, address))
    if kept is None:
        template = request.app.template_engine.get_template("gallery.html")  # type: ignore[union-attr]
        values = context(request, web, csrf=_TOKEN_SLOT, cards=cards, **listing)
        kept = web.visitor_pages.put((catalogue.locale, address), template.render(**values).encode())
    return html(request, web, kept.replace(_TOKEN_SLOT_BYTES, web.csrf.token(request).encode()))


@get("/rankings", name="rankings")
async def rankings(
    request: Request[Any, Any, Any],
    web: WebDep,
    pool: PoolDep,
    city: CityFilter = None,
    page_number: PageNumber = 1,
) -> Template:
    listing = await _listing_page(request, web, pool, "/api/public/rankings", city, page_number)
    return page(request, web, "rankings.html", **listing)


async def _video(request: Request[Any, Any, Any], web: Web, pool: PoolDep, raw_id: str) -> dict[str, Any]:
    """A video as its page shows it: published, or the viewer's own. 404 for anything else."""
    try:
        video_id = uuid.UUID(raw_id)
    except ValueError:
        raise NotFoundException() from None
    cached = web.videos.get(video_id)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    owner = await queries.video_owner(pool, video_id)
    who = viewer(request, web)
    mine = who is not None and owner is not None and who.user_id == owner.user_id
    if owner is None or not (owner.published or mine):
        raise NotFoundException()
    token = who.token if mine and who is not None else web.api.owner_token(owner.user_id)
    answer = await web.api.call(request, "GET", f"/api/videos/{video_id}", token=token)
    if not answer.ok:
        raise NotFoundException()
    detail = answer.json()
    video = {
        "video_id": str(video_id),
        "username": owner.username,
        "city": owner.city,
        # Only what a visitor may see of the owner's detail: never original_url.
        **{
            name: detail.get(name)
            for name in (
                "title", "status", "votes", "published",
                "processed_url", "poster_url", "storyboard_url", "hls_url",
            )
        },
    }  # fmt: skip
    if owner.published:
        web.videos.put(video_id, video)
    return video


@get("/videos/{video_id:str}", name="video")
async def video_page(request: Request[Any, Any, Any], web: WebDep, pool: PoolDep, video_id: str) -> Template:
    video = await _video(request, web, pool, video_id)
    base = f"{request.url.scheme}://{request.url.netloc}"
    return page(request, web, "video.html", video=video, base=base)


@get("/videos/{video_id:str}/poster.jpg", name="video_poster")
async def poster_link(request: Request[Any, Any, Any], web: WebDep, pool: PoolDep, video_id: str) -> Redirect:
    """A stable address for the poster (Open Graph's og:image): the time-limited link changes."""
    video = await _video(request, web, pool, video_id)
    if not video.get("poster_url"):
        raise NotFoundException()
    return Redirect(video["poster_url"], status_code=302, headers={"Cache-Control": "no-store"})


@get("/videos/{video_id:str}/video.mp4", name="video_file")
async def video_link(request: Request[Any, Any, Any], web: WebDep, pool: PoolDep, video_id: str) -> Redirect:
    """A stable address for the processed MP4 (Open Graph's og:video)."""
    video = await _video(request, web, pool, video_id)
    if not video.get("processed_url"):
        raise NotFoundException()
    return Redirect(video["processed_url"], status_code=302, headers={"Cache-Control": "no-store"})


@post("/videos/{video_id:str}/vote", name="vote", status_code=200)
async def vote(request: Request[Any, Any, Any], web: WebDep, pool: PoolDep, video_id: str) -> Response[Any]:
    video_page_path = f"/videos/{video_id}"
    who = viewer(request, web)
    if who is None:
        return go(request, web, login_url(video_page_path))
    answer = await web.api.call(request, "POST", f"/api/public/videos/{video_id}/vote", token=who.token)
    if answer.status == 401:
        return go(request, web, login_url(video_page_path))
    if answer.status == 404:
        raise NotFoundException(detail=answer.detail)
    if answer.ok:
        web.public_changed()
    if is_htmx(request):
        # The votes as they are now (the caches were just dropped), with the API's own sentence.
        video = await _video(request, web, pool, video_id)
        return page(request, web, "_votes.html", video=video, said=answer.detail)
    form = await request.form()
    back = safe_next(str(form.get("next") or ""), video_page_path)
    return go(request, web, back, "voted" if answer.ok else "already_voted")
