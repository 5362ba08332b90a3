"""The tus 1.0.0 request headers as values, and the response headers' formats: pure functions.

Every parser raises ``BadHeader`` naming the header, which the HTTP layer answers 400 (the spec's
own statuses for a wrong version, type or offset are decided by the caller, not here).
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import datetime
from email.utils import format_datetime

from anb_common.ingest_api import TUS_CHECKSUM_ALGORITHMS

_DIGITS = re.compile(r"[0-9]{1,19}")


class BadHeader(Exception):
    """A tus header is missing or malformed; ``header`` names it."""

    def __init__(self, header: str, detail: str) -> None:
        super().__init__(f"{header}: {detail}")
        self.header = header


class UnknownAlgorithm(Exception):
    """``Upload-Checksum`` names an algorithm this server does not compute."""

    def __init__(self, algorithm: str) -> None:
        super().__init__(algorithm)
        self.algorithm = algorithm


def non_negative(header: str, value: str | None) -> int:
    """A header that must be a non-negative decimal integer (``Upload-Length``, ``Upload-Offset``).
    Digits only: no sign, no spaces, no more than fits in a signed 64-bit column."""
    if value is None:
        raise BadHeader(header, "missing")
    if not _DIGITS.fullmatch(value):
        raise BadHeader(header, f"{value[:40]!r} is not a non-negative integer")
    number = int(value)
    if number >= 2**63:
        raise BadHeader(header, "too large")
    return number


def metadata(value: str | None) -> dict[str, bytes]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs (the value may be absent), keys
    unique and free of spaces and commas."""
    pairs: dict[str, bytes] = {}
    if value is None or not value.strip():
        return pairs
    for item in value.split(","):
        key, _, encoded = item.strip().partition(" ")
        if not key or key in pairs:
            raise BadHeader("Upload-Metadata", f"empty or repeated key {key!r}")
        try:
            pairs[key] = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadHeader("Upload-Metadata", f"the value of {key!r} is not base64") from exc
    return pairs


def checksum(value: str | None) -> tuple[str, bytes] | None:
    """``Upload-Checksum``: the algorithm and the digest it announces, or None without the header."""
    if value is None:
        return None
    algorithm, _, encoded = value.strip().partition(" ")
    if algorithm not in TUS_CHECKSUM_ALGORITHMS:
        raise UnknownAlgorithm(algorithm)
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadHeader("Upload-Checksum", "the digest is not base64") from exc
    if not digest:
        raise BadHeader("Upload-Checksum", "no digest")
    return algorithm, digest


def http_date(moment: datetime) -> str:
    """RFC 9110's IMF-fixdate, as ``Upload-Expires`` must be (``Wed, 25 Jun 2014 16:00:00 GMT``)."""
    return format_datetime(moment, usegmt=True)
