"""Where the bytes of a resumable upload go: the offset and part arithmetic, as pure functions.

An upload of ``length`` bytes is cut into parts of ``part_size`` bytes at fixed boundaries (part
``n`` holds bytes ``[(n - 1) * part_size, n * part_size)``), so that a part sent again after an
interruption gets the same number and overwrites itself in the multipart upload. The last part
(the one that reaches ``length``) may be shorter: S3 allows that of the last part only. The
durable offset is the whole parts stored plus the tail kept after them, which is always shorter
than a part; the part that reaches ``length`` is never counted in it, so that a client never sees
the upload as complete before its video exists.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Piece:
    """One part to upload: its number, the bytes it holds, and whether it is the upload's last."""

    number: int
    start: int
    end: int
    final: bool

    @property
    def size(self) -> int:
        return self.end - self.start


def part_count(length: int, part_size: int) -> int:
    """Parts of an upload of ``length`` bytes (the last one possibly short)."""
    return math.ceil(length / part_size)


def boundary(parts: int, part_size: int) -> int:
    """Where the bytes after ``parts`` whole parts start."""
    return parts * part_size


def tail_length(offset: int, parts: int, part_size: int) -> int:
    """Bytes kept after the whole parts at a durable ``offset``; always shorter than a part."""
    tail = offset - boundary(parts, part_size)
    if not 0 <= tail < part_size:
        raise ValueError(f"offset {offset} is not within part {parts + 1} of {part_size} bytes")
    return tail


def piece(number: int, length: int, part_size: int) -> Piece:
    """Part ``number`` (1-based) of an upload of ``length`` bytes."""
    start = boundary(number - 1, part_size)
    if not 0 <= start < length:
        raise ValueError(f"part {number} is outside an upload of {length} bytes")
    end = min(start + part_size, length)
    return Piece(number, start, end, end == length)


def begun(next_number: int, received: int, length: int, part_size: int) -> list[Piece]:
    """The parts from ``next_number`` on whose first byte the first ``received`` bytes hold: each may
    start on its way to S3 and take the rest as it arrives."""
    pieces = []
    number = next_number
    while boundary(number - 1, part_size) < min(received, length):
        pieces.append(piece(number, length, part_size))
        number += 1
    return pieces
