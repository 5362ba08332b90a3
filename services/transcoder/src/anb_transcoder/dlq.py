"""The dead-letter sweeper: no video whose job reached the DLQ stays ``uploaded``/``processing``.

A job lands in the DLQ through SQS's redrive (three receives, e.g. a worker killed three times, or a
database outage that stopped the worker from marking the video itself) or explicitly (malformed
message, giving up). The sweeper marks the video of every readable dead letter ``failed``.

Decision: the messages stay in the DLQ. The DLQ-depth alarm exists so that an operator looks at
them (and may redrive them after a fix); deleting them here would silence it. A swept message is
hidden for ``dlq_hold_s`` so the next sweeps do not re-read it; marking is idempotent anyway.
"""

from __future__ import annotations

import asyncio
import logging

from anb_common import logs, messages
from anb_common.metrics import Metric, Metrics
from anb_common.reasons import ProcessingFailure, Reason
from anb_transcoder.failures import log_failure
from anb_transcoder.queue import JobQueue
from anb_transcoder.videos import VideoStore

log = logging.getLogger(__name__)


async def sweep_once(queue: JobQueue, videos: VideoStore, hold_s: int) -> int:
    """Read every visible dead letter once; returns how many videos were marked failed."""
    marked = 0
    seen: set[str] = set()
    # SQS's redrive moves a job after this many receives; a job parked by a worker had as many.
    gave_up = Reason(ProcessingFailure.GAVE_UP, {"attempts": queue.max_receive_count})
    while True:
        batch = [m for m in await queue.receive(queue.dlq_url, 10, 0, hold_s) if m.message_id not in seen]
        if not batch:
            # Empty, or only letters this sweep already read (a short hold makes them visible again).
            return marked
        for message in batch:
            seen.add(message.message_id)
            with logs.bound(job_id=message.message_id):
                try:
                    video_id = messages.decode(message.body).video_id
                except messages.MessageError:
                    continue  # nothing to mark: an operator reads the body and the reason attribute
                if await videos.failed(video_id, gave_up):
                    marked += 1
                    log.warning(
                        "video of a dead-lettered job marked failed", extra={"video_id": str(video_id)}
                    )


async def sweep_forever(
    queue: JobQueue, videos: VideoStore, interval_s: float, hold_s: int, metrics: Metrics
) -> None:
    while True:
        try:
            marked = await sweep_once(queue, videos, hold_s)
        except Exception as exc:
            # SQS or the database is down: the dead letters wait in the DLQ for the next sweep.
            log_failure(log, "dead-letter sweep failed", exc)
        else:
            # Each one a job SQS's redrive parked (the worker's own were marked before it parked them).
            for _ in range(marked):
                metrics.record(Metric.JOBS_DEAD_LETTERED)
                metrics.record(Metric.JOBS_FAILED, Reason=ProcessingFailure.GAVE_UP)
        await asyncio.sleep(interval_s)
