"""What ingest answers the gateway about an upload: one schema for both sides of that hop.

Codes and ids only, never prose for players: the gateway words every answer itself (see ``reasons``).
"""

from __future__ import annotations

import uuid

import msgspec

from anb_common.reasons import Reason, Value

UPLOADS_PATH = "/internal/uploads"
"""Where the gateway sends each upload body (a multipart form, as the player sent it)."""


TUS_PATH = "/internal/tus"
"""Where the gateway relays each resumable (tus) upload request: ``POST`` here creates an upload,
``HEAD``/``PATCH``/``DELETE`` go to ``tus_path(upload_id)``."""

TUS_VERSION = "1.0.0"
"""The tus protocol version spoken (``Tus-Resumable``, ``Tus-Version``)."""
TUS_EXTENSIONS = ("creation", "creation-with-upload", "termination", "expiration", "checksum")
TUS_CHECKSUM_ALGORITHMS = ("sha1", "sha256")
TUS_CONTENT_TYPE = "application/offset+octet-stream"

VIDEO_STATUS_HEADER = "ANB-Video-Status"
"""On the PATCH that completes an upload: the video now exists, with this status (``uploaded``)."""

TUS_RESPONSE_HEADERS = (
    "Tus-Resumable",
    "Upload-Offset",
    "Upload-Length",
    "Upload-Expires",
    "Upload-Metadata",
    "Cache-Control",
    VIDEO_STATUS_HEADER,
)
"""What ingest answers a tus request with that the gateway passes on (the Location it rewrites)."""


def tus_path(upload_id: uuid.UUID) -> str:
    """The internal URL path of one resumable upload (its id is the video's id to be)."""
    return f"{TUS_PATH}/{upload_id}"


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
