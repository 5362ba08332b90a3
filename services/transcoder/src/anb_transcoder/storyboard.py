"""The storyboard: one thumbnail per second of the whole output (cards included) in one sprite, and a
WebVTT file whose cues point into it (``sprite.jpg#xywh=x,y,w,h``), the form players' scrubbing
previews read.

The thumbnail of second ``s`` is the frame on screen at ``s`` (frame ``floor(s * fps)``), taken as
frames reach the encoder: one frame a second is shrunk (about 0.35 ms each with a kept scaler), the
others cost an integer comparison. A card is one still picture, so its thumbnail is made once per
worker with the card itself (``cards.py``).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import av
import numpy as np
import numpy.typing as npt
from av.video.reformatter import VideoReformatter

from anb_common.keys import STORYBOARD_SPRITE
from anb_common.media.jpeg import encode_jpeg, to_rgb

TILE_WIDTH = 160
TILE_HEIGHT = 90
COLUMNS = 10
"""Thumbnails per sprite row: a 35 s output makes a 1600x360 sprite."""

Tile = npt.NDArray[Any]
"""An RGB thumbnail, TILE_HEIGHT x TILE_WIDTH x 3."""


def thumbnail(frame: av.VideoFrame, reformatter: VideoReformatter | None = None) -> Tile:
    return to_rgb(frame, TILE_WIDTH, TILE_HEIGHT, reformatter).to_ndarray()


class Storyboard:
    """Told every output frame in order, a frame at a time (``frame``) or a run of one still picture
    (``still``); then ``sprite`` and ``webvtt`` describe it."""

    def __init__(self, fps: Fraction) -> None:
        self._fps = fps
        self._tiles: list[Tile] = []
        self._frames = 0
        self._due = 0
        """The frame on screen at the next second without a thumbnail."""
        self._reformatter = VideoReformatter()

    def frame(self, frame: av.VideoFrame) -> None:
        if self._frames == self._due:
            self._take(thumbnail(frame, self._reformatter), 1)
        self._frames += 1

    def still(self, tile: Tile, frames: int) -> None:
        self._take(tile, frames)
        self._frames += frames

    def _take(self, tile: Tile, frames: int) -> None:
        # A frame may be on screen at several whole seconds (a slide show below 1 fps).
        while self._due < self._frames + frames:
            self._tiles.append(tile)
            self._due = math.floor(len(self._tiles) * self._fps)

    @property
    def duration_s(self) -> Fraction:
        return self._frames / self._fps

    def sprite(self) -> bytes:
        """The thumbnails as one JPEG, ``COLUMNS`` to a row, left to right and top to bottom."""
        count = len(self._tiles)
        if count == 0:
            raise ValueError("a storyboard of no frames")
        columns, rows = min(count, COLUMNS), -(-count // COLUMNS)
        sheet = np.zeros((rows * TILE_HEIGHT, columns * TILE_WIDTH, 3), dtype=np.uint8)
        for index, tile in enumerate(self._tiles):
            x, y = _position(index)
            sheet[y : y + TILE_HEIGHT, x : x + TILE_WIDTH] = tile
        return encode_jpeg(av.VideoFrame.from_ndarray(sheet, format="rgb24"))

    def webvtt(self) -> str:
        """Cue ``s`` runs from second ``s`` to the next (the last to the end of the output) and names
        its thumbnail in the sprite beside the file."""
        end_ms = round(self.duration_s * 1000)
        cues = ["WEBVTT", ""]
        for index in range(len(self._tiles)):
            x, y = _position(index)
            start, stop = index * 1000, min((index + 1) * 1000, end_ms)
            cues += [
                f"{_timestamp(start)} --> {_timestamp(stop)}",
                f"{STORYBOARD_SPRITE}#xywh={x},{y},{TILE_WIDTH},{TILE_HEIGHT}",
                "",
            ]
        return "\n".join(cues)


def _position(index: int) -> tuple[int, int]:
    row, column = divmod(index, COLUMNS)
    return column * TILE_WIDTH, row * TILE_HEIGHT


def _timestamp(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"
