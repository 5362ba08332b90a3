"""The intro and outro cards, encoded once per worker process and copied into every output.

Every job at a given frame rate shows the same two pictures for the same number of frames, and x264
turns them into the same packets each time; encoding them once saves each job about 0.3 CPU-seconds
(measured: 150 card frames at 720p30, veryfast), some 2 % of a 30 s 1080p job. A card is a closed
run of pictures starting with an IDR frame, encoded with the footage's ``OutputFormat``, so its
parameter sets equal the footage encoder's; the encoder checks that before copying and encodes the
picture itself when they differ, and numbers the decode times of the joined stream itself. A card
also brings its storyboard thumbnail: one picture for all its seconds.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass
from pathlib import Path

import av

from anb_transcoder.brand import load_card
from anb_transcoder.storyboard import Tile, thumbnail
from anb_transcoder.x264 import OutputFormat

_KEPT = 8
"""Encoded cards kept per process: two per output frame rate in use, tens of kilobytes each."""


@dataclass(frozen=True, slots=True)
class CardPacket:
    data: bytes
    pts: int
    """Presentation time in frames from the card's first frame (packets are in decode order)."""
    keyframe: bool


@dataclass(frozen=True, slots=True)
class EncodedCard:
    source: Path
    """The card's picture file, for an encoder whose parameter sets differ."""
    frames: int
    extradata: bytes
    """The parameter sets these packets need (the MP4's avcC)."""
    packets: tuple[CardPacket, ...]
    tile: Tile
    """The card's storyboard thumbnail."""


def encoded_card(path: Path, frames: int, output: OutputFormat) -> EncodedCard:
    """The card at ``path`` shown for ``frames`` frames of ``output``; encoded on first use, and again
    when the file changes (a re-fetched brand asset)."""
    stat = path.stat()
    return _encode(path, stat.st_mtime_ns, stat.st_size, frames, output)


@functools.lru_cache(maxsize=_KEPT)
def _encode(path: Path, mtime_ns: int, size: int, frames: int, output: OutputFormat) -> EncodedCard:
    # mtime_ns and size are only part of the cache key: a changed file is a different card.
    picture = load_card(path, output.width, output.height)
    # An MP4 container (never written) sets up the encoder exactly as the real output does,
    # parameter sets out of band included.
    with av.open(io.BytesIO(), "w", format="mp4") as scratch:
        stream = output.add_stream(scratch)
        packets = []
        for index in range(frames):
            picture.pts, picture.time_base = index, stream.codec_context.time_base
            packets += stream.encode(picture)
        packets += stream.encode(None)
        extradata = bytes(stream.codec_context.extradata or b"")
    return EncodedCard(
        source=path,
        frames=frames,
        extradata=extradata,
        packets=tuple(
            CardPacket(bytes(packet), int(packet.pts or 0), packet.is_keyframe) for packet in packets
        ),
        tile=thumbnail(picture),
    )
