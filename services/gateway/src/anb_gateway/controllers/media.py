"""A processed video's pictures and streams: its storyboard and HLS playlist as players fetch them (by
the links of ``media_links``, with presigned links inside), and the owner's poster pick."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import Provide
from litestar.exceptions import NotFoundException
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, Parameter

from anb_common.db.models import VideoStatus
from anb_gateway import wording
from anb_gateway.authn import current_user
from anb_gateway.controllers.videos import parse_id
from anb_gateway.db import Pool
from anb_gateway.deps import (
    CurrentUser,
    ListingsDep,
    MediaFilesDep,
    MediaLinksDep,
    PoolDep,
    PostersDep,
    StorageDep,
)
from anb_gateway.media_files import PLAYLIST, STORYBOARD, Kind, MediaFiles, MissingFile
from anb_gateway.media_links import PLAYLIST_NAME, STORYBOARD_NAME, MediaLinks
from anb_gateway.openapi_docs import BEARER, FORBIDDEN, NOT_FOUND, UNAUTHORIZED, error
from anb_gateway.poster_relay import PickRefused
from anb_gateway.repositories import videos
from anb_gateway.repositories.videos import VideoRow
from anb_gateway.schemas.videos import PosterChosen, PosterPick

log = logging.getLogger(__name__)

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
STORYBOARD_TYPE = "text/vtt; charset=utf-8"

Expires = Annotated[
    str | None, Parameter(description="Vencimiento del enlace firmado (segundos Unix); solo sin publicar.")
]
Signature = Annotated[str | None, Parameter(description="Firma del enlace; solo para videos sin publicar.")]

_HIDDEN = error(
    404,
    "No existe, no está procesado, o no está publicado y el enlace no está firmado o venció",
    wording.VIDEO_NOT_FOUND,
)
_PLAYLIST_EXAMPLE = (
    "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n"
    '#EXT-X-MAP:URI="https://storage.example/processed/…/hls/init.mp4?X-Amz-Signature=…"\n'
    "#EXTINF:2.000000,\nhttps://storage.example/processed/…/hls/segment-000.m4s?X-Amz-Signature=…\n"
    "#EXT-X-ENDLIST\n"
)
_STORYBOARD_EXAMPLE = (
    "WEBVTT\n\n00:00:00.000 --> 00:00:01.000\n"
    "https://storage.example/processed/…/sprite.jpg?X-Amz-Signature=…#xywh=0,0,160,90\n"
)


@dataclass(frozen=True, slots=True)
class _Served:
    """One of a video's texts as an endpoint serves it."""

    kind: Kind
    media_type: str
    key: Callable[[VideoRow], str | None]
    """Where the row says the text is (None until the video has it)."""


_PLAYLIST = _Served(PLAYLIST, PLAYLIST_TYPE, lambda video: video.hls_key)
_STORYBOARD = _Served(STORYBOARD, STORYBOARD_TYPE, lambda video: video.storyboard_key)


async def _serve(
    pool: Pool,
    links: MediaLinks,
    files: MediaFiles,
    raw_id: str,
    expires: str | None,
    signature: str | None,
    served: _Served,
) -> Response[bytes]:
    """The same 404 for a video that does not exist, is not processed, lacks this file, or is
    unpublished and asked for without the owner's valid signed link: nobody learns which."""
    video_id = parse_id(raw_id)
    video = await videos.get(pool, video_id)
    key = served.key(video) if video is not None and video.status == VideoStatus.PROCESSED else None
    if video is None or key is None or not (video.published or links.valid(video_id, expires, signature)):
        raise NotFoundException(detail=wording.VIDEO_NOT_FOUND)
    try:
        text = await files.served(key, served.kind)
    except MissingFile:
        log.error("video %s names %s, which storage does not have", video_id, key)
        raise NotFoundException(detail=wording.VIDEO_NOT_FOUND) from None
    # A published video's text is the same for everyone (a CDN may keep it); the owner's is theirs.
    audience = "public" if video.published else "private"
    cache = f"{audience}, max-age={text.fresh_s}"
    return Response(text.body, media_type=served.media_type, headers={"Cache-Control": cache})


class MediaController(Controller):
    path = "/api/videos"
    tags = ("videos",)

    @get(
        "/{video_id:str}/" + PLAYLIST_NAME,
        summary="Lista HLS de un video procesado, con enlaces temporales a sus segmentos",
        description=(
            "Pública si el video está publicado; si no, solo con el enlace firmado que el dueño recibe "
            "en `hls_url`."
        ),
        media_type=PLAYLIST_TYPE,
        responses={
            200: ResponseSpec(
                str,
                description="Lista de reproducción (RFC 8216, VOD)",
                media_type=PLAYLIST_TYPE,
                examples=[Example(value=_PLAYLIST_EXAMPLE)],
            ),
            404: _HIDDEN,
        },
    )
    async def playlist(
        self,
        video_id: FromPath[str],
        pool: PoolDep,
        media_links: MediaLinksDep,
        media_files: MediaFilesDep,
        expires: Expires = None,
        signature: Signature = None,
    ) -> Response[bytes]:
        return await _serve(pool, media_links, media_files, video_id, expires, signature, _PLAYLIST)

    @get(
        "/{video_id:str}/" + STORYBOARD_NAME,
        summary="Storyboard WebVTT de un video procesado, con enlaces temporales a su sprite",
        description=(
            "Pública si el video está publicado; si no, solo con el enlace firmado que el dueño recibe "
            "en `storyboard_url`."
        ),
        media_type=STORYBOARD_TYPE,
        responses={
            200: ResponseSpec(
                str,
                description="Un cue por segundo, cada uno apunta a su miniatura (#xywh=)",
                media_type=STORYBOARD_TYPE,
                examples=[Example(value=_STORYBOARD_EXAMPLE)],
            ),
            404: _HIDDEN,
        },
    )
    async def storyboard(
        self,
        video_id: FromPath[str],
        pool: PoolDep,
        media_links: MediaLinksDep,
        media_files: MediaFilesDep,
        expires: Expires = None,
        signature: Signature = None,
    ) -> Response[bytes]:
        return await _serve(pool, media_links, media_files, video_id, expires, signature, _STORYBOARD)

    @post(
        "/{video_id:str}/poster",
        status_code=200,
        summary="Elegir el momento de la portada (segundos desde el inicio de las imágenes del jugador)",
        dependencies={"user_id": Provide(current_user, sync_to_thread=False)},
        security=BEARER,
        responses={
            200: ResponseSpec(
                PosterChosen,
                description="Portada tomada de ese momento del video procesado",
                examples=[
                    Example(
                        value={
                            "message": wording.POSTER_CHOSEN,
                            "poster_url": "https://storage.example/processed/…/poster-1.jpg?X-Amz-Signature=…",
                        }
                    )
                ],
            ),
            400: error(
                400, "Momento fuera de las imágenes, o video sin procesar", wording.poster_out_of_range(27.5)
            ),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            503: error(503, "Servicio de imágenes no disponible", wording.POSTERS_UNAVAILABLE),
        },
    )
    async def pick_poster(
        self,
        video_id: FromPath[str],
        data: PosterPick,
        user_id: CurrentUser,
        posters: PostersDep,
        storage: StorageDep,
        listings: ListingsDep,
    ) -> Response[PosterChosen] | Response[bytes]:
        target = parse_id(video_id)
        try:
            key = await posters.pick(target, user_id, data.time_s)
        except PickRefused as refused:
            return refused.answer
        # Read-your-writes on this process without waiting for the database's change notice.
        listings.changed(user_id)
        return Response(
            PosterChosen(message=wording.POSTER_CHOSEN, poster_url=await storage.download_url(key))
        )
