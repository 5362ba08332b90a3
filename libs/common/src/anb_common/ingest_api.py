"""What ingest answers the gateway about an upload: one schema for both sides of that hop.

Codes and ids only, never prose for players: the gateway words every answer itself (see ``reasons``).
"""

from __future__ import annotations

import uuid

import msgspec

from anb_common.reasons import Reason, Value

UPLOADS_PATH = "/internal/uploads"
"""Where the gateway sends each upload body (a multipart form, as the player sent it)."""


class UploadAccepted(msgspec.Struct, frozen=True):
    """HTTP 202: the video is recorded and its job enqueued (or in the outbox)."""

    message: str
    """An English line for operators reading the exchange; players read the gateway's own."""
    task_id: uuid.UUID
    video_id: uuid.UUID


class UploadRefusal(msgspec.Struct, frozen=True):
    """Every other answer: ``code`` is an ``anb_common.reasons.UploadRule`` with its ``values``."""

    status_code: int
    code: str
    values: dict[str, Value] = {}

    @classmethod
    def of(cls, status_code: int, reason: Reason) -> UploadRefusal:
        return cls(status_code, reason.code, reason.values)

    @property
    def reason(self) -> Reason:
        return Reason(self.code, self.values)


encode = msgspec.json.Encoder().encode
accepted = msgspec.json.Decoder(UploadAccepted)
refusal = msgspec.json.Decoder(UploadRefusal)
