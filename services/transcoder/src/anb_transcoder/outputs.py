"""A processed video's objects in S3, laid out as ``anb_common.keys`` says: the MP4 at
``processed/<id>.mp4`` and its derivatives under ``processed/<id>/``. They are uploaded before the
video is marked processed, and removed together wherever a video must not keep them (deleted while
it was processed, failed for good, or finished by nobody).
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from anb_common import keys
from anb_transcoder.derivatives import DerivativeFiles
from anb_transcoder.storage import Storage
from anb_transcoder.videos import DerivativeKeys

_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
    ".m3u8": "application/vnd.apple.mpegurl",
    ".vtt": "text/vtt",
    ".jpg": "image/jpeg",
}
_AT_ONCE = 8
"""Uploads in flight: some twenty objects a video, each small, so latency, not bandwidth, is what
waiting costs (and the S3 client keeps ten connections)."""


def placed(
    video_id: uuid.UUID, files: DerivativeFiles, poster_version: int = 0
) -> tuple[DerivativeKeys, dict[str, Path]]:
    """The derivatives' keys as the row stores them, and every object to upload: key -> file."""
    derived = DerivativeKeys(
        poster=keys.poster_key(video_id, poster_version),
        storyboard=keys.storyboard_key(video_id),
        hls=keys.hls_playlist_key(video_id),
    )
    segments = (path for path in files.playlist.parent.iterdir() if path != files.playlist)
    objects = {
        derived.poster: files.poster,
        derived.storyboard: files.storyboard,
        keys.sprite_key(video_id): files.sprite,
        derived.hls: files.playlist,
        **{keys.hls_prefix(video_id) + segment.name: segment for segment in segments},
    }
    return derived, objects


async def upload(storage: Storage, objects: dict[str, Path]) -> None:
    """Upload each file under its key, a few at a time; the content type follows the file's suffix."""
    slots = asyncio.Semaphore(_AT_ONCE)

    async def one(key: str, path: Path) -> None:
        async with slots:
            await storage.upload(path, key, _CONTENT_TYPES[path.suffix])

    try:
        async with asyncio.TaskGroup() as group:
            for key, path in objects.items():
                group.create_task(one(key, path))
    except ExceptionGroup as failed:
        # The others were cancelled; the first failure says what is wrong (an outage fails them all
        # alike), raised as it came so that the worker tells an outage from a bug.
        raise failed.exceptions[0] from None


async def remove(storage: Storage, video_id: uuid.UUID) -> None:
    """Delete the video's MP4 and every derivative; what is not there is no error."""
    derivatives = await storage.keys_under(keys.derivatives_prefix(video_id))
    await storage.delete(keys.processed_key(video_id), *derivatives)
