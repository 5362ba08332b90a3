"""The caller's own videos: upload (streamed to ingest), list, detail, delete and publish."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from types import MappingProxyType
from typing import Annotated, Any

from litestar import Controller, HttpMethod, Request, Response, delete, get, post, route
from litestar.di import Provide
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example, Operation, RequestBody, Schema
from litestar.params import FromPath, Parameter

from anb_common.db.models import VideoStatus
from anb_common.keys import derivatives_prefix, processed_key
from anb_common.reasons import Reason, UploadRule
from anb_gateway import wording
from anb_gateway.authn import current_user
from anb_gateway.deps import CurrentUser, IngestDep, ListingsDep, MediaLinksDep, PoolDep, StorageDep
from anb_gateway.media_links import NONE, MediaLinks, MediaUrls
from anb_gateway.openapi_docs import BAD_PARAMETER, BEARER, FORBIDDEN, NOT_FOUND, UNAUTHORIZED, error
from anb_gateway.repositories import videos
from anb_gateway.repositories.videos import Outcome, VideoRow
from anb_gateway.schemas.common import Offset
from anb_gateway.schemas.videos import UploadAccepted, VideoAction, VideoDetail, VideoSummary
from anb_gateway.streamed_upload import STREAMED_ROUTE

Limit = Annotated[int, Parameter(ge=1, le=100, description="Videos por página (1–100).")]


def parse_id(raw: str) -> uuid.UUID:
    """A malformed id names no video: 404, like an unknown one."""
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFoundException(detail=wording.VIDEO_NOT_FOUND) from None


def _check(outcome: Outcome) -> None:
    if outcome is Outcome.NOT_FOUND:
        raise NotFoundException(detail=wording.VIDEO_NOT_FOUND)
    if outcome is Outcome.NOT_OWNER:
        raise PermissionDeniedException(detail=wording.NOT_YOURS)


async def media_urls(links: MediaLinks, request: Request[Any, Any, Any], video: VideoRow) -> MediaUrls:
    """The poster, storyboard and playlist links of a processed video (none before)."""
    if video.status != VideoStatus.PROCESSED:
        return NONE
    return await links.urls(
        str(request.base_url).rstrip("/"),
        video.id,
        published=video.published,
        poster_key=video.poster_key,
        storyboard_key=video.storyboard_key,
        hls_key=video.hls_key,
    )


def _progress(video: VideoRow) -> int | None:
    if video.status == VideoStatus.PROCESSING:
        return max(0, min(100, video.progress))
    return {VideoStatus.UPLOADED: 0, VideoStatus.PROCESSED: 100}.get(VideoStatus(video.status))


_UPLOAD_BODY = RequestBody(
    required=True,
    description="Formulario con el archivo (`video_file`) y el título (`title`, 1–200 caracteres).",
    content={
        "multipart/form-data": {  # type: ignore[dict-item]
            "schema": Schema(
                type="object",  # type: ignore[arg-type]
                required=["video_file", "title"],
                properties={
                    "video_file": Schema(type="string", format="binary"),  # type: ignore[arg-type]
                    "title": Schema(type="string", min_length=1, max_length=200),  # type: ignore[arg-type]
                },
            )
        }
    },
)


@dataclass
class UploadOperation(Operation):
    """The upload's OpenAPI operation: the handler reads the raw stream, so the form is described here."""

    def __post_init__(self) -> None:
        self.request_body = _UPLOAD_BODY


class VideosController(Controller):
    path = "/api/videos"
    tags = ("videos",)
    dependencies = MappingProxyType({"user_id": Provide(current_user, sync_to_thread=False)})
    security = BEARER

    @post(
        "/upload",
        status_code=202,
        summary="Subir un video (se procesa de forma asíncrona)",
        # The body streams through to ingest unread: no size limit here (IngestProxy counts the bytes),
        # refusals close the connection, a refused token drains the body first.
        **STREAMED_ROUTE,
        operation_class=UploadOperation,
        responses={
            202: ResponseSpec(
                UploadAccepted,
                description="Video recibido; el trabajo de procesamiento ya está en la cola",
                examples=[
                    Example(
                        value={
                            "message": wording.ACCEPTED,
                            "task_id": "0b8e6a7e-3f0c-4d7c-9a35-5c1f0d7b2a11",
                            "video_id": "0b8e6a7e-3f0c-4d7c-9a35-5c1f0d7b2a11",
                        }
                    )
                ],
            ),
            400: error(
                400,
                "Archivo rechazado",
                wording.upload_refusal(Reason(UploadRule.DURATION, {"duration_s": 10.0, "min_s": 20})),
            ),
            401: UNAUTHORIZED,
            408: error(408, "El archivo llega demasiado lento", wording.too_slow(16 * 1024)),
            429: error(429, "Demasiadas cargas a la vez", wording.too_many_uploads(2)),
            503: error(503, "Servicio de carga no disponible", wording.UPLOADS_UNAVAILABLE),
        },
    )
    async def upload(
        self, request: Request[Any, Any, Any], user_id: CurrentUser, ingest: IngestDep, listings: ListingsDep
    ) -> Response[bytes]:
        answer = await ingest.forward(request, user_id)
        if answer.status_code == 202:
            # Read-your-writes on this process without waiting for the database's change notice.
            listings.changed(user_id)
        return answer

    @get(
        "/",
        summary="Mis videos, los más recientes primero",
        responses={400: BAD_PARAMETER, 401: UNAUTHORIZED},
    )
    async def list_mine(
        self,
        request: Request[Any, Any, Any],
        user_id: CurrentUser,
        pool: PoolDep,
        storage: StorageDep,
        listings: ListingsDep,
        media_links: MediaLinksDep,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> list[VideoSummary]:
        page = (limit, offset)
        cached = listings.get(user_id, page)
        if cached is not None:
            return cached
        read = listings.version(user_id)
        rows = await videos.list_for_owner(pool, user_id, limit, offset)
        result = []
        for video in rows:
            processed = video.status == VideoStatus.PROCESSED and video.processed_key is not None
            media = await media_urls(media_links, request, video)
            result.append(
                VideoSummary(
                    video_id=video.id,
                    title=video.title,
                    status=video.status,
                    uploaded_at=video.uploaded_at,
                    processed_at=video.processed_at if processed else None,
                    processed_url=await storage.download_url(video.processed_key)  # type: ignore[arg-type]
                    if processed
                    else None,
                    poster_url=media.poster_url,
                    storyboard_url=media.storyboard_url,
                    hls_url=media.hls_url,
                )
            )
        listings.put(user_id, page, result, read)
        return result

    @get(
        "/{video_id:str}",
        summary="Detalle de uno de mis videos",
        responses={401: UNAUTHORIZED, 403: FORBIDDEN, 404: NOT_FOUND},
    )
    async def detail(
        self,
        request: Request[Any, Any, Any],
        video_id: FromPath[str],
        user_id: CurrentUser,
        pool: PoolDep,
        storage: StorageDep,
        media_links: MediaLinksDep,
    ) -> VideoDetail:
        video = await videos.get(pool, parse_id(video_id))
        if video is None:
            raise NotFoundException(detail=wording.VIDEO_NOT_FOUND)
        if video.user_id != user_id:
            raise PermissionDeniedException(detail=wording.NOT_YOURS)
        processed = video.status == VideoStatus.PROCESSED and video.processed_key is not None
        failed = video.status == VideoStatus.FAILED
        media = await media_urls(media_links, request, video)
        return VideoDetail(
            video_id=video.id,
            title=video.title,
            status=video.status,
            uploaded_at=video.uploaded_at,
            processed_at=video.processed_at if processed else None,
            original_url=await storage.download_url(video.original_key),
            processed_url=await storage.download_url(video.processed_key)  # type: ignore[arg-type]
            if processed
            else None,
            poster_url=media.poster_url,
            storyboard_url=media.storyboard_url,
            hls_url=media.hls_url,
            votes=video.vote_count,
            published=video.published,
            progress=_progress(video),
            error=wording.processing_failure(video.failure_reason) if failed else None,
        )

    @delete(
        "/{video_id:str}",
        status_code=200,
        summary="Eliminar uno de mis videos (también durante el procesamiento)",
        responses={
            400: error(400, "El video está publicado", wording.PUBLISHED_UNDELETABLE),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    async def remove(
        self,
        video_id: FromPath[str],
        user_id: CurrentUser,
        pool: PoolDep,
        storage: StorageDep,
        listings: ListingsDep,
    ) -> VideoAction:
        target = parse_id(video_id)

        async def remove_objects(video: VideoRow) -> None:
            # The processed MP4 and its derivatives are removed even when the row names none yet: a
            # worker may be writing them.
            mp4 = video.processed_key or processed_key(video.id)
            derivatives = await storage.keys_under(derivatives_prefix(video.id))
            await storage.delete(video.original_key, mp4, *derivatives)

        outcome = await videos.delete(pool, target, user_id, remove_objects)
        if outcome is Outcome.DONE:
            listings.changed(user_id)
        _check(outcome)
        if outcome is Outcome.PUBLISHED:
            raise ValidationException(detail=wording.PUBLISHED_UNDELETABLE)
        return VideoAction(message=wording.DELETED, video_id=target)

    # PUT answers as POST does: clients written against other implementations of this API use PUT.
    @route(
        "/{video_id:str}/publish",
        http_method=[HttpMethod.POST, HttpMethod.PUT],
        status_code=200,
        summary="Publicar un video procesado para votación",
        responses={
            400: error(400, "El video no se puede publicar", wording.NOT_PROCESSED_YET),
            401: UNAUTHORIZED,
            403: FORBIDDEN,
            404: NOT_FOUND,
        },
    )
    async def publish(self, video_id: FromPath[str], user_id: CurrentUser, pool: PoolDep) -> VideoAction:
        target = parse_id(video_id)
        outcome = await videos.publish(pool, target, user_id)
        _check(outcome)
        if outcome is Outcome.PUBLISHED:
            raise ValidationException(detail=wording.ALREADY_PUBLISHED)
        if outcome is Outcome.NOT_PROCESSED:
            raise ValidationException(detail=wording.NOT_PROCESSED_YET)
        return VideoAction(message=wording.PUBLISHED, video_id=target)
