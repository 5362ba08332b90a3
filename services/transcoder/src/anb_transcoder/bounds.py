"""What ends a transcode early, checked by the threads that do its work: the job's stop signal, the
wall time a job may take, and the number of pictures it may decode.

The decoding thread checks as it goes, not only the encoder: pictures that never reach the encoder
(timestamps that never advance, a frame bomb squeezed out by the frame-rate filter) would otherwise
keep the decoder busy with nobody listening to a shutdown or a deletion.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from anb_common.reasons import ProcessingFailure
from anb_transcoder.outcomes import Cancelled, UnprocessableVideo
from anb_transcoder.settings import ProcessingSettings

CHECK_EVERY = 8
"""Pictures between two checks: often enough to end within a fraction of a second, rarely enough to
cost nothing next to decoding or encoding them."""


class Bounds:
    def __init__(self, settings: ProcessingSettings, should_stop: Callable[[], bool] | None) -> None:
        self.max_pictures = math.ceil(settings.max_output_s * settings.max_decoded_fps)
        """Pictures the job may hand to the decoder."""
        self._should_stop = should_stop
        self._max_s = settings.max_transcode_s
        self._deadline = time.monotonic() + settings.max_transcode_s

    def check(self) -> None:
        """Raise ``Cancelled`` when the job was told to stop, ``UnprocessableVideo`` past its wall time."""
        if self._should_stop is not None and self._should_stop():
            raise Cancelled
        if time.monotonic() > self._deadline:
            raise UnprocessableVideo(
                ProcessingFailure.TOOK_TOO_LONG, "wall-time bound reached", max_s=self._max_s
            )

    def too_many_pictures(self) -> UnprocessableVideo:
        return UnprocessableVideo(
            ProcessingFailure.TOO_MANY_FRAMES, "frame bound reached", max_frames=self.max_pictures
        )
