"""S3 key layout (``uploads/``, ``processed/``, ``resources/``): one place that knows it.

A processed video is ``processed/<id>.mp4`` (the download, as the contract lays it out) and its
derivatives live beside it under ``processed/<id>/``: the poster, the storyboard (a WebVTT file and
the sprite its cues point into) and the HLS rendition (playlist, init segment, media segments). A
video's objects are therefore its MP4 plus one prefix, which is what deletion and the invariant
checker walk.
"""

from __future__ import annotations

import uuid

UPLOADS_PREFIX = "uploads/"
PROCESSED_PREFIX = "processed/"
RESOURCES_PREFIX = "resources/"

LOGO_KEY = RESOURCES_PREFIX + "logo.png"
INTRO_KEY = RESOURCES_PREFIX + "intro.png"
OUTRO_KEY = RESOURCES_PREFIX + "outro.png"


def upload_key(video_id: uuid.UUID, extension: str) -> str:
    """Key of an original; the extension comes from the sniffed container, never the client's name."""
    return f"{UPLOADS_PREFIX}{video_id}.{extension}"


def tail_prefix(video_id: uuid.UUID) -> str:
    """Where a resumable upload keeps the bytes after its last whole part between two PATCHes."""
    return f"{UPLOADS_PREFIX}{video_id}.tail-"


def tail_key(video_id: uuid.UUID, end: int) -> str:
    """The tail that ends at byte ``end`` of the upload: each tail gets a key of its own, so that one
    being written never overwrites the one the upload's row names."""
    return f"{tail_prefix(video_id)}{end}"


def processed_key(video_id: uuid.UUID) -> str:
    return f"{PROCESSED_PREFIX}{video_id}.mp4"


def derivatives_prefix(video_id: uuid.UUID) -> str:
    """Where a processed video's poster, storyboard and HLS rendition live."""
    return f"{PROCESSED_PREFIX}{video_id}/"


def poster_key(video_id: uuid.UUID, version: int) -> str:
    """A poster; a new version gets a new key (the owner picked another moment), so that a cached
    link never shows the old picture under the new name."""
    return f"{derivatives_prefix(video_id)}poster-{version}.jpg"


def storyboard_key(video_id: uuid.UUID) -> str:
    """The WebVTT storyboard; its cues name ``STORYBOARD_SPRITE`` beside it."""
    return f"{derivatives_prefix(video_id)}storyboard.vtt"


STORYBOARD_SPRITE = "sprite.jpg"


def sprite_key(video_id: uuid.UUID) -> str:
    return derivatives_prefix(video_id) + STORYBOARD_SPRITE


def hls_prefix(video_id: uuid.UUID) -> str:
    """The HLS rendition: the playlist and the segments it names by relative URIs."""
    return f"{derivatives_prefix(video_id)}hls/"


def hls_playlist_key(video_id: uuid.UUID) -> str:
    return hls_prefix(video_id) + "index.m3u8"


def video_id_from_key(key: str) -> uuid.UUID | None:
    """The video id a key under uploads/ or processed/ (its MP4 or a derivative) belongs to, or None
    for any other key."""
    for prefix in (UPLOADS_PREFIX, PROCESSED_PREFIX):
        if key.startswith(prefix):
            stem = key[len(prefix) :].split("/", 1)[0].split(".", 1)[0]
            try:
                return uuid.UUID(stem)
            except ValueError:
                return None
    return None
