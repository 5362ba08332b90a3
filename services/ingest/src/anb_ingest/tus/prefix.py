"""When the first bytes of an upload are enough to probe it: a pure reading of the container's
structure, so that a clip that breaks a rule is refused while its first PATCH is still arriving.

FFmpeg can tell codec, size, duration and frame count from an MP4's ``moov`` box or a Matroska
file's ``Info`` and ``Tracks`` elements, and the picture size it checks is the first picture's, so
the prefix is enough once it holds those and the first video sample. An MP4 whose ``moov`` comes
after ``mdat`` (most phones write it last) can only be judged whole: ``Never``. Only headers are
read here (sizes, ids, the first chunk offset and sample size); nothing is decoded.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NeedMore:
    """Undecided until the prefix holds ``until`` bytes."""

    until: int


@dataclass(frozen=True, slots=True)
class Ready:
    """The first ``end`` bytes hold what a probe needs; ``duration_known`` when the container
    states the clip's duration (a live-written WebM does not), so the duration rule applies."""

    end: int
    duration_known: bool


@dataclass(frozen=True, slots=True)
class Never:
    """The prefix will never be enough: the file must be judged whole."""


Readiness = NeedMore | Ready | Never

_MP4_CONTAINERS = (b"trak", b"mdia", b"minf", b"stbl")


def readiness(head: bytes) -> Readiness:
    """What ``head`` (the first bytes of an upload, as many as have arrived) allows."""
    if len(head) < 8:
        return NeedMore(8)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return _matroska(head)
    return _mp4(head)


# --- MP4 / MOV ---------------------------------------------------------------------------------


def _box(data: bytes, at: int, limit: int) -> tuple[bytes, int, int] | NeedMore:
    """The box at ``at``: (type, payload start, end); ``limit`` ends a box of size 0."""
    if at + 8 > len(data):
        return NeedMore(at + 16)
    size, kind = struct.unpack_from(">I4s", data, at)
    payload = at + 8
    if size == 1:
        if at + 16 > len(data):
            return NeedMore(at + 16)
        (size,) = struct.unpack_from(">Q", data, at + 8)
        payload = at + 16
    elif size == 0:
        size = limit - at
    if size < payload - at:
        raise ValueError("box smaller than its header")
    return kind, payload, at + size


def _mp4(head: bytes) -> Readiness:
    at = 0
    try:
        while True:
            box = _box(head, at, 2**63)
            if isinstance(box, NeedMore):
                return box
            kind, payload, end = box
            if kind == b"mdat":
                return Never()
            if kind == b"moov":
                if end > len(head):
                    return NeedMore(end)
                found = _after_moov(head, payload, end)
                if isinstance(found, Ready) and found.end > len(head):
                    return NeedMore(found.end)
                return found
            at = end
    except (ValueError, struct.error):
        # Not a box structure we can follow: the whole file's probe decides.
        return Never()


def _children(data: bytes, start: int, end: int) -> dict[bytes, list[tuple[int, int]]]:
    found: dict[bytes, list[tuple[int, int]]] = {}
    at = start
    while at + 8 <= end:
        box = _box(data, at, end)
        if isinstance(box, NeedMore):
            break
        kind, payload, stop = box
        found.setdefault(kind, []).append((payload, min(stop, end)))
        if stop <= at:
            break
        at = stop
    return found


def _after_moov(data: bytes, start: int, end: int) -> Readiness:
    boxes = _children(data, start, end)
    duration_known = any(_mvhd_duration(data, *where) > 0 for where in boxes.get(b"mvhd", []))
    for trak in boxes.get(b"trak", []):
        first = _first_video_sample(data, *trak)
        if first is False:
            continue
        if first is None:
            # A video track whose samples the moov does not place (fragments): judge it whole.
            return Never()
        return Ready(max(end, first), duration_known)
    # No video track at all: the probe says so from the moov alone.
    return Ready(end, duration_known)


def _mvhd_duration(data: bytes, start: int, end: int) -> int:
    version = data[start]
    if version == 1:
        return int(struct.unpack_from(">Q", data, start + 24)[0])
    return int(struct.unpack_from(">I", data, start + 16)[0])


def _first_video_sample(data: bytes, start: int, end: int) -> int | bool | None:
    """Where the track's first sample ends; False when it is not a video track; None when the
    sample tables do not say."""
    boxes = _children(data, start, end)
    mdia = boxes.get(b"mdia")
    if not mdia:
        return False
    mdia_boxes = _children(data, *mdia[0])
    handler = mdia_boxes.get(b"hdlr")
    if not handler or data[handler[0][0] + 8 : handler[0][0] + 12] != b"vide":
        return False
    minf = mdia_boxes.get(b"minf")
    stbl = _children(data, *minf[0]).get(b"stbl") if minf else None
    if not stbl:
        return None
    tables = _children(data, *stbl[0])
    chunk = _first_chunk(data, tables)
    size = _first_size(data, tables)
    if chunk is None or size is None:
        return None
    return chunk + size


def _first_chunk(data: bytes, tables: dict[bytes, list[tuple[int, int]]]) -> int | None:
    for kind, fmt, width in ((b"stco", ">I", 4), (b"co64", ">Q", 8)):
        if kind in tables:
            start, end = tables[kind][0]
            (count,) = struct.unpack_from(">I", data, start + 4)
            if count == 0 or start + 8 + width > end:
                return None
            return int(struct.unpack_from(fmt, data, start + 8)[0])
    return None


def _first_size(data: bytes, tables: dict[bytes, list[tuple[int, int]]]) -> int | None:
    if b"stsz" not in tables:
        return None
    start, end = tables[b"stsz"][0]
    constant, count = struct.unpack_from(">II", data, start + 4)
    if count == 0:
        return None
    if constant:
        return int(constant)
    return int(struct.unpack_from(">I", data, start + 12)[0]) if start + 16 <= end else None


# --- Matroska / WebM ---------------------------------------------------------------------------

_SEGMENT = 0x18538067
_INFO = 0x1549A966
_TRACKS = 0x1654AE6B
_CLUSTER = 0x1F43B675
_DURATION = 0x4489
_BLOCKS = (0xA3, 0xA0)  # SimpleBlock, BlockGroup
_UNKNOWN = -1


def _vint(data: bytes, at: int, keep_marker: bool) -> tuple[int, int] | None:
    """An EBML variable-length integer at ``at`` (an id keeps its marker bit, a size does not;
    a size of all ones is ``_UNKNOWN``); None when ``data`` ends first."""
    if at >= len(data):
        return None
    first = data[at]
    if first == 0:
        raise ValueError("invalid EBML integer")
    width = 9 - first.bit_length()
    if at + width > len(data):
        return None
    value = first if keep_marker else first & (0xFF >> width)
    for byte in data[at + 1 : at + width]:
        value = (value << 8) | byte
    if not keep_marker and value == (1 << (7 * width)) - 1:
        return _UNKNOWN, at + width
    return value, at + width


def _element(data: bytes, at: int) -> tuple[int, int, int] | NeedMore:
    """(id, payload start, payload size or ``_UNKNOWN``) of the element at ``at``."""
    ident = _vint(data, at, keep_marker=True)
    if ident is None:
        return NeedMore(at + 12)
    size = _vint(data, ident[1], keep_marker=False)
    if size is None:
        return NeedMore(ident[1] + 8)
    return ident[0], size[1], size[0]


def _matroska(head: bytes) -> Readiness:
    try:
        header = _element(head, 0)
        if isinstance(header, NeedMore):
            return header
        _, payload, size = header
        if size == _UNKNOWN:
            return Never()
        segment = _element(head, payload + size)
        if isinstance(segment, NeedMore):
            return segment
        ident, at, _ = segment
        if ident != _SEGMENT:
            return Never()
        return _segment(head, at)
    except ValueError:
        return Never()


def _segment(head: bytes, at: int) -> Readiness:
    duration_known = tracks = False
    while True:
        element = _element(head, at)
        if isinstance(element, NeedMore):
            return element
        ident, payload, size = element
        if ident == _CLUSTER:
            return _first_block(head, payload, duration_known) if tracks else Never()
        if size == _UNKNOWN:
            return Never()
        end = payload + size
        if ident in (_INFO, _TRACKS) and end > len(head):
            return NeedMore(end)
        if ident == _INFO:
            duration_known = _has_child(head, payload, end, _DURATION)
        tracks |= ident == _TRACKS
        at = end


def _has_child(data: bytes, at: int, end: int, wanted: int) -> bool:
    while at < end:
        element = _element(data, at)
        if isinstance(element, NeedMore) or element[2] == _UNKNOWN:
            return False
        ident, payload, size = element
        if ident == wanted:
            return True
        at = payload + size
    return False


def _first_block(head: bytes, at: int, duration_known: bool) -> Readiness:
    while True:
        element = _element(head, at)
        if isinstance(element, NeedMore):
            return element
        ident, payload, size = element
        if size == _UNKNOWN:
            return Never()
        end = payload + size
        if ident in _BLOCKS:
            return Ready(end, duration_known) if end <= len(head) else NeedMore(end)
        at = end
