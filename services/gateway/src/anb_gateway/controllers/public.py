"""Public listing of published videos, voting, and the per-player ranking."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.di import Provide
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import FromPath, Parameter

from anb_gateway import wording
from anb_gateway.authn import current_user
from anb_gateway.deps import CurrentUser, MediaLinksDep, PoolDep, StorageDep
from anb_gateway.openapi_docs import BAD_PARAMETER, BEARER, UNAUTHORIZED, error
from anb_gateway.repositories import public
from anb_gateway.repositories.public import VoteOutcome
from anb_gateway.schemas.common import City, MessageBody, Offset
from anb_gateway.schemas.public import PublicVideo, RankingEntry

Limit = Annotated[int, Parameter(ge=1, le=100, description="Filas por página (1–100).")]


class PublicController(Controller):
    path = "/api/public"
    tags = ("public",)

    @get("/videos", summary="Videos publicados, los más votados primero", responses={400: BAD_PARAMETER})
    async def videos(
        self,
        request: Request[Any, Any, Any],
        pool: PoolDep,
        storage: StorageDep,
        media_links: MediaLinksDep,
        city: City = None,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> list[PublicVideo]:
        rows = await public.published(pool, city, limit, offset)
        base_url = str(request.base_url).rstrip("/")
        listed = []
        for row in rows:
            media = await media_links.urls(
                base_url,
                row.id,
                published=True,
                poster_key=row.poster_key,
                storyboard_key=row.storyboard_key,
                hls_key=row.hls_key,
            )
            listed.append(
                PublicVideo(
                    video_id=row.id,
                    title=row.title,
                    username=row.username,
                    city=row.city,
                    votes=row.votes,
                    processed_url=await storage.download_url(row.processed_key),
                    poster_url=media.poster_url,
                    storyboard_url=media.storyboard_url,
                    hls_url=media.hls_url,
                )
            )
        return listed

    @post(
        "/videos/{video_id:str}/vote",
        status_code=200,
        summary="Votar por un video publicado (un voto por usuario y video)",
        dependencies={"user_id": Provide(current_user, sync_to_thread=False)},
        security=BEARER,
        responses={
            400: error(400, "Voto repetido", wording.ALREADY_VOTED),
            401: UNAUTHORIZED,
            404: error(404, "No existe el video publicado", wording.NO_PUBLISHED_VIDEO),
        },
    )
    async def vote(self, video_id: FromPath[str], user_id: CurrentUser, pool: PoolDep) -> MessageBody:
        try:
            target = uuid.UUID(video_id)
        except ValueError:
            raise NotFoundException(detail=wording.NO_PUBLISHED_VIDEO) from None
        outcome = await public.vote(pool, user_id, target)
        if outcome is VoteOutcome.NOT_FOUND:
            raise NotFoundException(detail=wording.NO_PUBLISHED_VIDEO)
        if outcome is VoteOutcome.DUPLICATE:
            raise ValidationException(detail=wording.ALREADY_VOTED)
        return MessageBody(message=wording.VOTED)

    @get("/rankings", summary="Clasificación de jugadores por votos", responses={400: BAD_PARAMETER})
    async def rankings(
        self, pool: PoolDep, city: City = None, limit: Limit = 20, offset: Offset = 0
    ) -> list[RankingEntry]:
        rows = await public.rankings(pool, city, limit, offset)
        return [
            RankingEntry(position=offset + index + 1, username=row.username, city=row.city, votes=row.votes)
            for index, row in enumerate(rows)
        ]
