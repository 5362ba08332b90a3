"""One job, from a received message to a settled one.

A job first decides what should happen to its message (``Settle``) while the heartbeat keeps the
message hidden, and only then, with the heartbeat stopped, acts on the message: a renewal racing a
hand-back could otherwise hide a handed-back message for a whole visibility timeout.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import TypeVar

from anb_common import keys, logs, messages
from anb_common.metrics import Metric, Metrics
from anb_common.reasons import ProcessingFailure, Reason
from anb_transcoder import outputs
from anb_transcoder.brand_cache import BrandCache
from anb_transcoder.failures import log_failure
from anb_transcoder.heartbeat import heartbeat
from anb_transcoder.pipeline import Cancelled, UnprocessableVideo, transcode
from anb_transcoder.progress import ProgressReporter
from anb_transcoder.queue import JobQueue, Received
from anb_transcoder.settings import WorkerSettings
from anb_transcoder.storage import MissingObject, Storage
from anb_transcoder.videos import Footage, Lease, Start, VideoStore
from anb_transcoder.workdir import job_folder

log = logging.getLogger(__name__)

T = TypeVar("T")
_STEADY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)


class Settle(enum.Enum):
    DELETE = "delete"
    """Done for good (processed, failed for a reason, or nothing to do): remove the message."""
    HAND_BACK = "hand_back"
    """Cancelled by shutdown: make the message visible now so another worker takes it."""
    RETRY = "retry"
    """Transient failure: let the message come back after a growing delay."""
    GIVE_UP = "give_up"
    """Transient failure on the last allowed receive: the video was marked failed; park in the DLQ."""
    WAIT = "wait"
    """Another receive of this same message is processing the video: look again in a visibility
    timeout (by then it has finished and this is a duplicate, or it died and the lease has lapsed)."""


@dataclass
class Job:
    """A running job as the worker sees it: ``stop`` cancels the transcode at its next frame."""

    message: Received
    stop: threading.Event
    holder: uuid.UUID = field(default_factory=uuid.uuid4)
    """Whose lease on the video this job would hold."""


class JobRunner:
    def __init__(
        self,
        settings: WorkerSettings,
        queue: JobQueue,
        storage: Storage,
        videos: VideoStore,
        brand: BrandCache,
        metrics: Metrics,
    ) -> None:
        self._metrics = metrics
        self._settings = settings
        self._queue = queue
        self._storage = storage
        self._videos = videos
        self._brand = brand

    async def run(self, job: Job) -> None:
        """Handle one message; never raises (a failure here must not take the worker down)."""
        message = job.message
        # The upload's request id (a message attribute, when ingest had one) ties these lines to its.
        request = {"request_id": message.request_id} if message.request_id else {}
        with logs.bound(job_id=message.message_id, **request):
            try:
                decoded = messages.decode(message.body)
            except messages.MessageError as exc:
                await self._dead_letter(message, str(exc))
                return
            with logs.bound(video_id=str(decoded.video_id)):
                video_id = decoded.video_id
                visibility_s = self._settings.worker.visibility_timeout_s
                lease = Lease(job.holder, message.message_id, lease_s(visibility_s))
                # The video's lease is renewed at the same beat as the message's visibility, so it
                # lapses just before the message reappears if this worker dies; renewing a lease held
                # by another job changes nothing.
                async with heartbeat(
                    self._queue, message, self._settings.heartbeat_s, visibility_s,
                    also=lambda: self._videos.renew(video_id, lease),
                ):  # fmt: skip
                    settle = await self._decide(video_id, job, lease)
                await self._release(video_id, lease)
                await self._settle(message, video_id, settle)

    async def _decide(self, video_id: uuid.UUID, job: Job, lease: Lease) -> Settle:
        try:
            return await self._process(video_id, job, lease)
        except Exception as exc:
            log_failure(log, "job failed", exc, receive_count=job.message.receive_count)
            if job.message.receive_count < self._queue.max_receive_count:
                return Settle.RETRY
            gave_up = Reason(ProcessingFailure.GAVE_UP, {"attempts": job.message.receive_count})
            try:
                # An attempt may have uploaded its result before failing: no object without a row,
                # but never those of a video an attempt did publish.
                if await self._failed(video_id, gave_up) or not await self._videos.exists(video_id):
                    await outputs.remove(self._storage, video_id)
            except Exception as exc:
                # The database or S3 is what failed: leave the message to SQS's redrive and the sweeper.
                log_failure(log, "could not mark the video failed after the last attempt", exc)
                return Settle.RETRY
            return Settle.GIVE_UP

    async def _process(self, video_id: uuid.UUID, job: Job, lease: Lease) -> Settle:
        claim = await self._videos.start(video_id, lease)
        if claim.outcome is Start.GONE:
            log.info("video deleted before processing; nothing to do")
            await outputs.remove(self._storage, video_id)
            return Settle.DELETE
        if claim.outcome is Start.BUSY:
            if claim.same_message:
                log.info("this message is being processed by another receive of it; looking again later")
                return Settle.WAIT
            # The holder's own message stays in the queue until it is done, so this copy adds nothing.
            log.info("another copy of this job is processing the video; this copy is dropped")
            return Settle.DELETE
        # The row's original_key is authoritative; the message's file_path only helps operators.
        original_key = claim.original_key
        if claim.outcome is Start.DONE or original_key is None:
            log.info("video already processed or failed; duplicate delivery ignored")
            return Settle.DELETE
        log.info("job started", extra={"receive_count": job.message.receive_count})
        if job.message.sent_at is not None:
            self._metrics.record(Metric.JOB_QUEUE_WAIT, max(0.0, time.time() - job.message.sent_at))
        brand = await self._brand.get()
        with job_folder(self._settings.processing.temp_dir, video_id) as folder:
            source = folder / ("source" + PurePosixPath(original_key).suffix)
            target = folder / "processed.mp4"
            made = folder / "derivatives"
            clock = time.monotonic()
            try:
                await self._storage.download(original_key, source)
            except MissingObject:
                return await self._missing_original(video_id)
            log.info("original downloaded", extra={"seconds": round(time.monotonic() - clock, 3)})
            clock = time.monotonic()
            reporter = ProgressReporter(
                self._videos, video_id, self._settings.worker.progress_interval_s, job.stop
            )
            async with reporter:
                try:
                    # A thread, not a process: PyAV releases the GIL inside FFmpeg's decode, filter
                    # and encode calls, so the event loop keeps serving heartbeats and signals; a
                    # thread shares the cached brand assets and reports progress without pickling,
                    # and cancellation is a flag the pipeline checks between frames.
                    result = await asyncio.to_thread(
                        transcode,
                        source,
                        target,
                        brand,
                        self._settings.processing,
                        reporter.update,
                        job.stop.is_set,
                        made,
                    )
                except UnprocessableVideo as exc:
                    reason = exc.reason
                    log.info(
                        "video cannot be processed",
                        extra={"reason": reason.code, "values": reason.values, "why": str(exc)},
                    )
                    if await _steadily("marking the video failed", lambda: self._failed(video_id, reason)):
                        # What an earlier attempt may have uploaded before it stopped.
                        await _steadily("removing outputs", lambda: outputs.remove(self._storage, video_id))
                    return Settle.DELETE
                except Cancelled:
                    if reporter.lost:
                        return await self._lost(video_id)
                    log.info("job cancelled by shutdown; handing it back")
                    return Settle.HAND_BACK
            elapsed = time.monotonic() - clock
            self._metrics.record(Metric.TRANSCODE_TIME, elapsed)
            log.info(
                "transcoded", extra={"seconds": round(elapsed, 3), "output_s": round(result.duration_s, 3)}
            )
            if not await _steadily("checking the row", lambda: self._videos.exists(video_id)):
                return await self._lost(video_id)
            clock = time.monotonic()
            key = keys.processed_key(video_id)
            assert result.derivatives is not None, "made when a folder is given"
            derived, objects = outputs.placed(video_id, result.derivatives)
            footage = Footage(
                float(result.card_frames / result.fps), float(result.footage_frames / result.fps)
            )
            # Everything is in the bucket before the row says processed: a listing never links to
            # an object that is not there yet.
            await _steadily(
                "uploading the result", lambda: outputs.upload(self._storage, {key: target, **objects})
            )
            if not await _steadily(
                "publishing the result", lambda: self._videos.processed(video_id, key, derived, footage)
            ):
                return await self._lost(video_id)
        self._metrics.record(Metric.JOBS_PROCESSED)
        if claim.uploaded_at is not None:
            self._metrics.record(
                Metric.END_TO_END_TIME, (datetime.now(UTC) - claim.uploaded_at).total_seconds()
            )
        log.info("job done", extra={"processed_key": key, "publish_s": round(time.monotonic() - clock, 3)})
        return Settle.DELETE

    async def _lost(self, video_id: uuid.UUID) -> Settle:
        """The row stopped being ours mid-job: deleted by its owner, or finished by a duplicate."""
        if await self._videos.exists(video_id):
            log.info("video finished elsewhere meanwhile; this duplicate is dropped")
        else:
            log.info("video deleted during processing; output removed")
            await outputs.remove(self._storage, video_id)
        return Settle.DELETE

    async def _missing_original(self, video_id: uuid.UUID) -> Settle:
        if await self._videos.exists(video_id):
            log.warning("original missing from storage")
            await self._failed(video_id, Reason(ProcessingFailure.MISSING_ORIGINAL))
        return Settle.DELETE

    async def _failed(self, video_id: uuid.UUID, reason: Reason) -> bool:
        """Mark the video failed (``VideoStore.failed``), counted by its reason when it was."""
        marked = await self._videos.failed(video_id, reason)
        if marked:
            self._metrics.record(Metric.JOBS_FAILED, Reason=reason.code)
        return marked

    async def _settle(self, message: Received, video_id: uuid.UUID, settle: Settle) -> None:
        try:
            if settle is Settle.DELETE:
                await self._queue.delete(self._queue.url, message.receipt)
            elif settle is Settle.HAND_BACK:
                await self._queue.hide(self._queue.url, message.receipt, 0)
                self._metrics.record(Metric.JOB_RETRIES)
            elif settle is Settle.WAIT:
                await self._queue.hide(
                    self._queue.url, message.receipt, self._settings.worker.visibility_timeout_s
                )
            elif settle is Settle.RETRY:
                options = self._settings.worker
                delay = retry_delay(message.receive_count, options.retry_base_s, options.retry_cap_s)
                log.info("job will be retried", extra={"delay_s": delay})
                await self._queue.hide(self._queue.url, message.receipt, delay)
                self._metrics.record(Metric.JOB_RETRIES)
            else:
                log.warning("giving up after the last allowed receive; message parked in the DLQ")
                await self._queue.dead_letter(message, f"gave up on video {video_id} after repeated failures")
                self._metrics.record(Metric.JOBS_DEAD_LETTERED)
        except Exception as exc:
            # The message comes back when its visibility lapses and is handled again (idempotently).
            log_failure(log, "could not settle the message", exc, settle=settle.value)

    async def _release(self, video_id: uuid.UUID, lease: Lease) -> None:
        try:
            await self._videos.release(video_id, lease)
        except Exception as exc:
            # The lease lapses by itself within a visibility timeout; until then the video waits.
            log_failure(log, "could not release the video's lease", exc)

    async def _dead_letter(self, message: Received, reason: str) -> None:
        log.warning("malformed message sent to the DLQ", extra={"reason": reason})
        try:
            await self._queue.dead_letter(message, reason)
        except Exception as exc:
            # SQS's own redrive moves it after maxReceiveCount receives.
            log_failure(log, "could not move the malformed message to the DLQ", exc)
        else:
            self._metrics.record(Metric.JOBS_DEAD_LETTERED)


async def _steadily(what: str, call: Callable[[], Awaitable[T]]) -> T:
    """Retry a step that follows a finished transcode: a database restart or failover, or an S3
    hiccup, lasts seconds, and riding it out beats throwing the transcode away (the heartbeat keeps
    the message ours meanwhile). Past about half a minute the error goes to the queue's retries."""
    for delay in (*_STEADY_DELAYS_S, None):
        try:
            return await call()
        except Exception as exc:
            if delay is None:
                raise
            log_failure(log, "step failed; retrying", exc, step=what, delay_s=delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


def lease_s(visibility_timeout_s: int) -> int:
    """The video's lease lapses a little before the message reappears (both are renewed at the same
    beat), so that after a crash the next receive of the message finds the video free to claim."""
    return visibility_timeout_s - max(1, visibility_timeout_s // 20)


def retry_delay(receive_count: int, base_s: int, cap_s: int) -> int:
    """Seconds before a transiently failed job comes back: doubling per receive, up to the cap."""
    return int(min(cap_s, base_s * 2 ** max(0, receive_count - 1)))
