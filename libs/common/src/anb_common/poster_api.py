"""The poster pick as the gateway relays it to ingest: one schema for both sides of that hop.

``POST /api/videos/{id}/poster`` reaches ingest as ``POST /internal/videos/{id}/poster`` with the
owner's identity token (``anb_common.identity``, bound to that method and path) and the same body.
Ingest, which may decode video (in its bounded child processes), takes the frame from the processed
MP4 and stores it as the video's new poster; it answers the new key, or a refusal as a code with
values that the gateway words for the player.
"""

from __future__ import annotations

import enum
import uuid

import msgspec

from anb_common.reasons import Value


def path(video_id: uuid.UUID) -> str:
    """Where the gateway sends one video's pick."""
    return f"/internal/videos/{video_id}/poster"


class PosterPick(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    time_s: float
    """Seconds from the start of the player's footage."""


class PosterStored(msgspec.Struct, frozen=True):
    """HTTP 200: the row now names this poster (the old one is gone)."""

    poster_key: str


class PosterRule(enum.StrEnum):
    """Why ingest refuses a pick, with its HTTP status."""

    NOT_FOUND = "poster_not_found"
    """404: no such video."""
    NOT_OWNER = "poster_not_owner"
    """403: the video is another player's."""
    NOT_PROCESSED = "poster_not_processed"
    """400: the video is not processed (yet)."""
    NO_FOOTAGE_BOUNDS = "poster_no_footage_bounds"
    """400: processed before the platform stored where the footage lies in the MP4."""
    OUT_OF_RANGE = "poster_out_of_range"
    """400: ``time_s`` is not within the footage, which lasts ``footage_s``."""
    IDENTITY = "poster_identity"
    """401: the internal identity token is missing or not for this request."""
    UNAVAILABLE = "poster_unavailable"
    """503: storage or the database failed, or the frame could not be taken; nothing changed."""


STATUS: dict[PosterRule, int] = {
    PosterRule.NOT_FOUND: 404,
    PosterRule.NOT_OWNER: 403,
    PosterRule.NOT_PROCESSED: 400,
    PosterRule.NO_FOOTAGE_BOUNDS: 400,
    PosterRule.OUT_OF_RANGE: 400,
    PosterRule.IDENTITY: 401,
    PosterRule.UNAVAILABLE: 503,
}


class PosterRefusal(msgspec.Struct, frozen=True):
    code: PosterRule
    values: dict[str, Value] = {}


encode = msgspec.json.Encoder().encode
pick = msgspec.json.Decoder(PosterPick)
stored = msgspec.json.Decoder(PosterStored)
refusal = msgspec.json.Decoder(PosterRefusal)
