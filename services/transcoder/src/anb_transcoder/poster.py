"""The poster: the best-looking picture of the player's footage, chosen among the frames on their way
to the encoder (nothing is decoded again), and written as a JPEG of the output's size.

Every ``SAMPLE_EVERY_S`` of footage one frame is scored on a sparse copy of its luma (every
``_STEP``-th pixel of every ``_STEP``-th row, read in place: about 0.3 ms a frame, so a 30 s job
spends some 20 ms here). A frame too dark or too flat (black, a fade, a wall, the lens covered) never
beats one that is not; among the others the sharpest wins, sharpness being the variance of the
Laplacian, which blur and shake bring down. Only the footage counts: the bars are black on every
frame, and the watermark is the same on every frame, so both would only blur the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np
import numpy.typing as npt

from anb_common.media.jpeg import encode_jpeg, to_rgb
from anb_transcoder.graph import Layout

SAMPLE_EVERY_S = Fraction(1, 2)
"""Footage between two scored frames: pictures change little within half a second."""
POSTER_MAX_BYTES = 100_000
"""The published contract's limit on a poster's size."""
_STEP = 4
"""Sampling stride in pixels: a 1280x720 frame is scored on 320x180 samples."""
_MIN_MEAN = 32.0
"""Average luma below which a frame is too dark to show (limited-range black is 16)."""
_MIN_SPREAD = 12.0
"""Standard deviation of luma below which a frame is flat: one colour, a fade, a covered lens."""

Luma = npt.NDArray[Any]


@dataclass(frozen=True, slots=True, order=True)
class Score:
    lively: bool
    """Neither too dark nor flat: such a frame always beats one that is."""
    sharpness: float
    """Variance of the Laplacian of the sampled luma."""


def score(luma: Luma, counted: npt.NDArray[np.bool_]) -> Score:
    """The score of a sampled luma picture, over the samples ``counted`` marks (same shape)."""
    samples = luma.astype(np.int16)
    centre = samples[1:-1, 1:-1]
    laplacian = samples[1:-1, :-2] + samples[1:-1, 2:] + samples[:-2, 1:-1] + samples[2:, 1:-1] - 4 * centre
    seen, edges = samples[counted], laplacian[counted[1:-1, 1:-1]]
    # A sliver of footage (a 4000x10 upload) may leave no sample at all.
    lively = seen.size > 0 and float(seen.mean()) >= _MIN_MEAN and float(seen.std()) >= _MIN_SPREAD
    return Score(lively, float(edges.var()) if edges.size else 0.0)


class PosterPicker:
    """Offered footage frames in order (each with its index in the footage), keeps the best one."""

    def __init__(self, fps: Fraction, footage: Layout, watermark: Layout) -> None:
        self._every = max(1, round(fps * SAMPLE_EVERY_S))
        self._rows = slice(footage.y, footage.y + footage.height, _STEP)
        self._columns = slice(footage.x, footage.x + footage.width, _STEP)
        # The watermark's samples and their neighbours (whose Laplacian reaches into it) count not.
        counted = np.ones(
            (len(range(footage.height)[::_STEP]), len(range(footage.width)[::_STEP])), dtype=np.bool_
        )
        top = max(0, (watermark.y - footage.y) // _STEP - 1)
        left = max(0, (watermark.x - footage.x) // _STEP - 1)
        bottom = max(0, -(-(watermark.y + watermark.height - footage.y) // _STEP) + 1)
        right = max(0, -(-(watermark.x + watermark.width - footage.x) // _STEP) + 1)
        counted[top:bottom, left:right] = False
        self._counted = counted
        self._best: tuple[Score, av.VideoFrame] | None = None

    def offer(self, frame: av.VideoFrame, index: int) -> None:
        if index % self._every:
            return
        found = score(self._luma(frame), self._counted)
        if self._best is None or found > self._best[0]:
            # Holding the frame keeps its picture: FFmpeg writes into a buffer only if no one holds it.
            self._best = (found, frame)

    @property
    def best(self) -> av.VideoFrame | None:
        return None if self._best is None else self._best[1]

    def _luma(self, frame: av.VideoFrame) -> Luma:
        plane = frame.planes[0]
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(plane.height, plane.line_size)
        return rows[self._rows, self._columns]


def poster_jpeg(frame: av.VideoFrame) -> bytes:
    """``frame`` (an output frame) as the poster: a JPEG of its size within ``POSTER_MAX_BYTES``."""
    return encode_jpeg(to_rgb(frame, frame.width, frame.height), POSTER_MAX_BYTES)
