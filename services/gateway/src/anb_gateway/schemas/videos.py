"""The caller's own videos: listing, detail and the answers of delete, publish, upload and the poster
pick."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec


class VideoSummary(msgspec.Struct):
    video_id: uuid.UUID
    title: str
    status: str
    uploaded_at: datetime
    processed_at: datetime | None
    """Set once the status is ``processed``."""
    processed_url: str | None
    """Time-limited download link, once the status is ``processed``."""
    poster_url: str | None
    """Time-limited link to the poster (JPEG, 1280x720), once processed."""
    storyboard_url: str | None
    """The WebVTT storyboard (its cues point into a thumbnail sprite), once processed."""
    hls_url: str | None
    """The HLS playlist, once processed; the owner's link to an unpublished video's is signed and
    time-limited."""


class VideoDetail(msgspec.Struct):
    video_id: uuid.UUID
    title: str
    status: str
    uploaded_at: datetime
    processed_at: datetime | None
    original_url: str
    """Time-limited download link to the file as uploaded."""
    processed_url: str | None
    poster_url: str | None
    storyboard_url: str | None
    hls_url: str | None
    votes: int
    published: bool
    progress: int | None
    """0–100: 0 while queued, the transcoder's figure while processing, 100 once processed."""
    error: str | None
    """Why processing failed, only when the status is ``failed``."""


class VideoAction(msgspec.Struct):
    message: str
    video_id: uuid.UUID


class UploadAccepted(msgspec.Struct):
    message: str
    task_id: uuid.UUID
    video_id: uuid.UUID


class PosterPick(msgspec.Struct, forbid_unknown_fields=True):
    time_s: float
    """Seconds from the start of the player's footage (after the intro card)."""


class PosterChosen(msgspec.Struct):
    message: str
    poster_url: str
