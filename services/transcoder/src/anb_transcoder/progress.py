"""Progress from the transcode thread to ``videos.progress``, written once per interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from types import TracebackType

from anb_transcoder.failures import log_failure
from anb_transcoder.videos import VideoStore

log = logging.getLogger(__name__)


class ProgressReporter:
    """``update`` is called from the transcode thread and only stores the number; a task on the
    event loop writes the latest value every interval. When the write finds the row no longer in
    ``processing`` (deleted by its owner, finished by a duplicate), ``lost`` turns true and ``stop``
    is set, so the transcode ends early instead of producing a video nobody will keep.

    The value is written even when it has not changed: the write is how a deletion is noticed, and
    a transcode can decode for a long while without writing a frame (pictures that all carry one
    timestamp)."""

    def __init__(
        self, videos: VideoStore, video_id: uuid.UUID, interval_s: float, stop: threading.Event
    ) -> None:
        self._videos = videos
        self._video_id = video_id
        self._interval_s = interval_s
        self._stop = stop
        self._latest = 0
        self._task: asyncio.Task[None] | None = None
        self.lost = False

    def update(self, percent: int) -> None:
        # A plain int store is atomic under the GIL; the loop reads whatever value is newest.
        self._latest = percent

    async def __aenter__(self) -> ProgressReporter:
        self._task = asyncio.create_task(self._write_periodically(), name="progress")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _write_periodically(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                still_ours = await self._videos.progress(self._video_id, self._latest)
            except Exception as exc:
                # Progress is informative only; a database hiccup must not fail the transcode.
                log_failure(log, "could not record progress", exc)
                continue
            if not still_ours:
                log.info("video no longer processing (deleted or finished elsewhere); stopping")
                self.lost = True
                self._stop.set()
                return
