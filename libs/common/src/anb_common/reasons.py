"""Why an upload was refused or a video failed, as a machine code with values: the one schema that
ingest answers with, the transcoder stores, and the gateway renders in Spanish for players.

Internal services never write prose for players: a sentence written in ingest would reach players in
ingest's language and wording, and a stored sentence could never be reworded. They hand over a
``Reason`` (``code`` from the lists below, ``values`` naming the limit and what was found), and the
gateway alone turns it into the words a player reads.
"""

from __future__ import annotations

import enum

import msgspec

Value = int | float | str


class Reason(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A rule an input broke, or why processing failed, with the figures that explain it."""

    code: str
    values: dict[str, Value] = {}


class UploadRule(enum.StrEnum):
    """Why ingest refuses an upload (HTTP 400 unless said otherwise), with the values it sends."""

    TOO_LARGE = "too_large"
    """``limit_bytes``; the gateway answers 413 or 400 as the contract says."""
    EMPTY_FILE = "empty_file"
    MISSING_FIELD = "missing_field"
    """``field``: the form field that is missing (``video_file``, ``title``)."""
    DUPLICATE_FIELD = "duplicate_field"
    """``field``: a form field sent more than once."""
    MALFORMED_FORM = "malformed_form"
    """The body is not a multipart form we can read."""
    TITLE = "title"
    """``min_chars``, ``max_chars``."""
    NOT_A_VIDEO = "not_a_video"
    """Not an MP4, MOV, WebM or MKV container, or one FFmpeg cannot read."""
    NO_VIDEO_STREAM = "no_video_stream"
    UNDECODABLE = "undecodable"
    CODEC = "codec"
    """``codec``: what the file holds (accepted: H.264, HEVC, VP9, AV1)."""
    DURATION = "duration"
    """``duration_s`` and ``min_s`` or ``max_s``: the bound it broke."""
    RESOLUTION = "resolution"
    """``width``, ``height`` and ``min_short_side_px`` or ``max_long_side_px``."""
    FRAME_RATE = "frame_rate"
    """``fps`` (pictures per second of the clip; counting stops at twice the limit when the
    container does not state its frame count) and ``max_fps``."""
    TOO_SLOW = "too_slow"
    """HTTP 408: past a grace time, the body arrived slower than ``min_bytes_per_s`` on average
    (``bytes_per_s`` is the rate it came at); nothing was kept."""
    IDENTITY = "identity"
    """HTTP 401: the gateway's token for the request is missing, invalid or already used. Never the
    player's doing: the gateway answers its own error."""
    UNAVAILABLE = "unavailable"
    """HTTP 503: storage, queue or database did not answer; nothing was kept, and the same upload may
    be sent again."""


class TusRule(enum.StrEnum):
    """Why ingest refuses a resumable (tus) upload request, with its HTTP status; a rule the clip
    itself breaks is an ``UploadRule`` (400, and the upload is terminated)."""

    VERSION = "tus_version"
    """HTTP 412: ``Tus-Resumable`` is missing or names a version other than ``version``."""
    HEADER = "tus_header"
    """HTTP 400: ``header`` is missing or malformed (``Upload-Length``, ``Upload-Offset``,
    ``Upload-Metadata``, ``Upload-Checksum``)."""
    CONTENT_TYPE = "tus_content_type"
    """HTTP 415: a body that is not ``application/offset+octet-stream``."""
    CHECKSUM_ALGORITHM = "tus_checksum_algorithm"
    """HTTP 400: ``algorithm`` is none of ``supported``."""
    CHECKSUM_MISMATCH = "tus_checksum_mismatch"
    """HTTP 460: the body does not match its ``Upload-Checksum``; the offset did not move."""
    OFFSET_MISMATCH = "tus_offset_mismatch"
    """HTTP 409: ``Upload-Offset`` is not the upload's ``offset``."""
    BEYOND_LENGTH = "tus_beyond_length"
    """HTTP 413: the body would carry the upload past its ``length``."""
    LOCKED = "tus_locked"
    """HTTP 423: another request is writing the same upload."""
    NOT_FOUND = "tus_not_found"
    """HTTP 404: no such upload for this player (never created, terminated, swept, or another's)."""
    EXPIRED = "tus_expired"
    """HTTP 410: the upload expired (``expired_at``) and is being removed."""
    TOO_MANY = "tus_too_many"
    """HTTP 429: the player already has ``max`` uploads in progress."""
    TITLE_MISSING = "tus_title_missing"
    """HTTP 400: ``Upload-Metadata`` has no ``title``."""


class ProcessingFailure(enum.StrEnum):
    """Why the transcoder marked a video ``failed``, with the values it stores."""

    DAMAGED = "damaged"
    """The file could not be decoded at all."""
    MISSING_ORIGINAL = "missing_original"
    """The original is no longer in storage."""
    GAVE_UP = "gave_up"
    """``attempts``: transient failures used up every attempt (or the job was dead-lettered)."""
    UNSUPPORTED_CODEC = "unsupported_codec"
    """``codec``: the video track's codec is none the platform decodes (ingest should have refused it)."""
    UNSUPPORTED_PICTURE = "unsupported_picture"
    """``pix_fmt``, ``width``, ``height``: a picture format or size the filters cannot take."""
    DAMAGED_MIDWAY = "damaged_midway"
    """Part of the footage could not be processed: damaged, or its picture changes size or format."""
    TOO_MANY_FRAMES = "too_many_frames"
    """``max_frames``: the file holds more pictures than a job decodes (a frame bomb, or timestamps
    that never advance)."""
    TOOK_TOO_LONG = "took_too_long"
    """``max_s``: processing ran past the wall time a job may take."""
    UNSPECIFIED = "unspecified"
    """A reason stored before reasons were codes; ``text`` holds what was stored."""


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Reason)


def encode(reason: Reason) -> str:
    """The stored and transmitted form: compact JSON."""
    return _encoder.encode(reason).decode()


def decode(stored: str) -> Reason:
    """A stored reason; text that is not one (written before reasons were codes) is kept as
    ``unspecified`` with the text, so nothing a player was told is lost."""
    try:
        return _decoder.decode(stored)
    except msgspec.DecodeError:
        return Reason(ProcessingFailure.UNSPECIFIED, {"text": stored})
