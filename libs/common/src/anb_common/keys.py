"""S3 key layout (``uploads/``, ``processed/``, ``resources/``): one place that knows it."""

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


def processed_key(video_id: uuid.UUID) -> str:
    return f"{PROCESSED_PREFIX}{video_id}.mp4"


def video_id_from_key(key: str) -> uuid.UUID | None:
    """The video id a key under uploads/ or processed/ belongs to, or None for any other key."""
    for prefix in (UPLOADS_PREFIX, PROCESSED_PREFIX):
        if key.startswith(prefix):
            stem = key[len(prefix) :].split(".", 1)[0]
            try:
                return uuid.UUID(stem)
            except ValueError:
                return None
    return None
