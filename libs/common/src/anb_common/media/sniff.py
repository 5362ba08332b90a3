"""Tell the container from a file's first bytes, never from its name or the client's content type.

The answer pins FFmpeg's demuxer (see ``safe_open``), so a file can only ever be read as the
container it starts like; anything else (playlists, AVI, images, text) is refused up front.
"""

from __future__ import annotations

import enum

SNIFF_BYTES = 64
"""How many leading bytes ``sniff`` needs: the ftyp box or the EBML header fits in them."""

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_EBML_DOCTYPE = b"\x42\x82"
# Files from old QuickTime writers may start with one of these atoms instead of ``ftyp``.
_QUICKTIME_FIRST_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip"}


class Container(enum.Enum):
    MP4 = "mp4"
    MOV = "mov"
    WEBM = "webm"
    MKV = "mkv"

    @property
    def demuxer(self) -> str:
        """FFmpeg input format to pin: one demuxer serves MP4/MOV, another WebM/Matroska."""
        return "mov" if self in (Container.MP4, Container.MOV) else "matroska"

    @property
    def extension(self) -> str:
        """File extension to store the original under."""
        return self.value

    @property
    def mime_type(self) -> str:
        """Content type to store the original with (S3 answers it to whoever downloads the object)."""
        return _MIME_TYPES[self]


_MIME_TYPES = {
    Container.MP4: "video/mp4",
    Container.MOV: "video/quicktime",
    Container.WEBM: "video/webm",
    Container.MKV: "video/x-matroska",
}


def sniff(head: bytes) -> Container | None:
    """The container ``head`` (the first ``SNIFF_BYTES`` bytes or more) starts like, or None."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return Container.MOV if head[8:12] == b"qt  " else Container.MP4
    if len(head) >= 8 and head[4:8] in _QUICKTIME_FIRST_ATOMS:
        return Container.MOV
    if head.startswith(_EBML_MAGIC):
        return _matroska_doctype(head)
    return None


def _matroska_doctype(head: bytes) -> Container | None:
    at = head.find(_EBML_DOCTYPE, len(_EBML_MAGIC))
    if at < 0:
        return None
    size = _read_vint(head, at + len(_EBML_DOCTYPE))
    if size is None:
        return None
    length, start = size
    doctype = head[start : start + length].rstrip(b"\x00")
    return {b"webm": Container.WEBM, b"matroska": Container.MKV}.get(doctype)


def _read_vint(data: bytes, at: int) -> tuple[int, int] | None:
    """EBML variable-length integer at ``at``: (value, offset after it)."""
    if at >= len(data) or data[at] == 0:
        return None
    width = 8 - data[at].bit_length() + 1
    if at + width > len(data):
        return None
    value = data[at] & (0xFF >> width)
    for byte in data[at + 1 : at + width]:
        value = (value << 8) | byte
    return value, at + width
