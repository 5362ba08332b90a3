"""The processing job message: the one schema shared by ingest (producer) and transcoder (consumer)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Literal

import msgspec

SCHEMA_VERSION = 1
REQUEST_ID_ATTRIBUTE = "request_id"
"""The SQS message attribute carrying the id of the upload request that made the job, so the
transcoder's lines for the job name it too; beside the body, whose schema stays as it is."""
# SQS refuses bodies over 256 KiB; a job message is tiny, so anything near that is not ours.
MAX_BODY_BYTES = 256 * 1024


class MessageError(ValueError):
    """A queue body that is not a valid job message of a version we understand."""


class JobMessage(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    schema_version: int
    video_id: uuid.UUID
    file_path: str
    status: Literal["pending"]
    timestamp: datetime

    @classmethod
    def for_upload(cls, video_id: uuid.UUID, file_path: str) -> JobMessage:
        return cls(
            schema_version=SCHEMA_VERSION,
            video_id=video_id,
            file_path=file_path,
            status="pending",
            timestamp=datetime.now(UTC),
        )


class _VersionProbe(msgspec.Struct):
    schema_version: int


_encoder = msgspec.json.Encoder()
_probe_decoder = msgspec.json.Decoder(_VersionProbe)
_decoder = msgspec.json.Decoder(JobMessage)


def attributes(request_id: str | None) -> dict[str, dict[str, str]]:
    """``MessageAttributes`` of a job sent on behalf of request ``request_id`` (none without one)."""
    if not request_id:
        return {}
    return {REQUEST_ID_ATTRIBUTE: {"DataType": "String", "StringValue": request_id}}


def encode(message: JobMessage) -> str:
    return _encoder.encode(message).decode()


def decode(body: str | bytes) -> JobMessage:
    """Parse a queue body; every way it can be wrong raises :class:`MessageError`."""
    raw = body.encode() if isinstance(body, str) else body
    if len(raw) > MAX_BODY_BYTES:
        raise MessageError(f"message body is {len(raw)} bytes, over the {MAX_BODY_BYTES} byte limit")
    try:
        # Read the version first so that a future schema gets "unknown version", not a field error.
        version = _probe_decoder.decode(raw).schema_version
    except msgspec.DecodeError as exc:
        raise MessageError(f"malformed message: {exc}") from exc
    if version != SCHEMA_VERSION:
        raise MessageError(f"unknown schema_version {version}; this consumer understands {SCHEMA_VERSION}")
    try:
        message = _decoder.decode(raw)
    except msgspec.DecodeError as exc:
        raise MessageError(f"malformed message: {exc}") from exc
    if message.timestamp.tzinfo is None:
        raise MessageError("malformed message: timestamp has no timezone")
    return message
