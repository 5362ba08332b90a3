"""What a processed video comes with beside its MP4: a poster, a storyboard (WebVTT + sprite) and an
HLS rendition, made from the transcode a worker already does.

``Derivatives`` is told what the encoder writes, in order (the cards it copies in, the footage frames
it encodes), keeps what the pictures need, and once the MP4 is complete writes the files: the poster
and the sprite are encoded, and the MP4's packets are remuxed into HLS segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from anb_common.keys import STORYBOARD_SPRITE
from anb_transcoder import hls
from anb_transcoder.cards import EncodedCard
from anb_transcoder.graph import Layout
from anb_transcoder.poster import PosterPicker, poster_jpeg
from anb_transcoder.storyboard import Storyboard


@dataclass(frozen=True, slots=True)
class DerivativeFiles:
    poster: Path
    storyboard: Path
    """The WebVTT file; its cues name the sprite by its file name."""
    sprite: Path
    playlist: Path
    """The HLS playlist; the segments it names are the other files of its folder."""


class Derivatives:
    def __init__(self, folder: Path, fps: Fraction, footage: Layout, watermark: Layout) -> None:
        self._folder = folder
        self._poster = PosterPicker(fps, footage, watermark)
        self._storyboard = Storyboard(fps)
        self._footage = 0

    def card(self, card: EncodedCard) -> None:
        self._storyboard.still(card.tile, card.frames)

    def shown(self, frames: Sequence[av.VideoFrame]) -> None:
        """Frames of the output that are not footage (a card, decoded again by the backfill)."""
        for frame in frames:
            self._storyboard.frame(frame)

    def footage(self, frames: Sequence[av.VideoFrame]) -> None:
        for frame in frames:
            self._poster.offer(frame, self._footage)
            self._storyboard.frame(frame)
            self._footage += 1

    def write(self, mp4: Path) -> DerivativeFiles:
        """The files, in the folder given at the start; ``mp4`` is the finished output, whose packets
        become the HLS rendition."""
        best = self._poster.best
        if best is None:
            raise ValueError("no footage frame was offered for the poster")
        self._folder.mkdir(parents=True, exist_ok=True)
        files = DerivativeFiles(
            poster=self._folder / "poster.jpg",
            storyboard=self._folder / "storyboard.vtt",
            sprite=self._folder / STORYBOARD_SPRITE,
            playlist=hls.remux(mp4, self._folder / "hls"),
        )
        files.poster.write_bytes(poster_jpeg(best))
        files.storyboard.write_text(self._storyboard.webvtt())
        files.sprite.write_bytes(self._storyboard.sprite())
        return files
