"""Public listing, votes and rankings."""

from __future__ import annotations

import uuid

import msgspec


class PublicVideo(msgspec.Struct):
    video_id: uuid.UUID
    title: str
    username: str
    city: str
    votes: int
    processed_url: str
    poster_url: str | None
    """Null until the video has one (videos processed before posters existed, until the backfill)."""
    storyboard_url: str | None
    hls_url: str | None


class RankingEntry(msgspec.Struct):
    position: int
    username: str
    city: str
    votes: int
