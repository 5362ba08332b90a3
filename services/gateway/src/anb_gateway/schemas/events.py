"""The ``video`` event of GET /api/videos/events: one video's processing state."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec


class VideoEvent(msgspec.Struct):
    video_id: uuid.UUID
    status: str
    progress: int | None
    """0–100 as the video's detail shows it: 0 while queued, 100 once processed, none once failed."""
    error: str | None
    """Why processing failed, in the player's words, only when the status is ``failed``."""
    processed_at: datetime | None
    """Set once the status is ``processed``."""
