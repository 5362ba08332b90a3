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


class RankingEntry(msgspec.Struct):
    position: int
    username: str
    city: str
    votes: int
