"""The consumer: long-polls the queue while job slots are free, runs jobs, shuts down gracefully.

It polls only while it is ready (``readiness``: the temp dir is writable, the brand assets are read,
the database, the bucket and the queue answer), and runs a dead-letter sweeper beside the jobs (see
``dlq``). The first readiness pass tells systemd READY=1; a pass runs once a minute besides (the
``Ready`` metric), and the figures of its jobs are published (anb_common.metrics).

Shutdown (``request_stop``, wired to SIGTERM/SIGINT): stop receiving at once (an in-flight long poll
is abandoned; a message it may have been handed reappears after its visibility timeout), give the
running jobs ``grace_s`` to finish, then cancel them; a cancelled job hands its message back.
A second signal skips what is left of the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator

from anb_common.aws import Aws
from anb_common.db.engine import create_engine, session_factory
from anb_common.metrics import Metrics, publishing
from anb_common.readiness import Readiness
from anb_transcoder.brand_cache import BrandCache
from anb_transcoder.dlq import sweep_forever
from anb_transcoder.failures import log_failure
from anb_transcoder.jobs import Job, JobRunner
from anb_transcoder.protection import ScaleInProtection
from anb_transcoder.queue import JobQueue, Received
from anb_transcoder.settings import WorkerSettings
from anb_transcoder.storage import Storage
from anb_transcoder.videos import VideoStore
from anb_transcoder.workdir import check_writable, remove_stale

log = logging.getLogger(__name__)

# A first pass downloads the brand assets: seconds, not the 2 s a database ping gets.
_READINESS_TIMEOUT_S = 30.0
# After a failed receive (SQS unreachable, throttled), wait this long, doubling up to the cap.
_RECEIVE_BACKOFF_S = 1.0
_RECEIVE_BACKOFF_CAP_S = 30.0


class Worker:
    def __init__(self, settings: WorkerSettings, metrics: Metrics | None = None) -> None:
        self._settings = settings
        self._metrics = metrics or Metrics()
        self._stopping = asyncio.Event()
        self._hurry = asyncio.Event()
        self._jobs: dict[asyncio.Task[None], Job] = {}

    def request_stop(self) -> None:
        if self._stopping.is_set():
            log.info("second stop request: cancelling running jobs now")
            self._hurry.set()
        else:
            log.info("stop requested: no new jobs; waiting for the running ones")
            self._stopping.set()

    async def run(self) -> None:
        settings = self._settings
        removed = remove_stale(settings.processing.temp_dir)
        if removed:
            log.info("removed folders of dead workers", extra={"count": removed})
        aws = Aws(settings.aws)
        engine = create_engine(settings.db)
        try:
            async with contextlib.AsyncExitStack() as stack:
                await stack.enter_async_context(publishing(self._metrics, aws, settings.metrics))
                sqs = await stack.enter_async_context(aws.sqs())
                s3 = await stack.enter_async_context(aws.s3())
                queue = await JobQueue.open(sqs, settings.aws.queue_name, settings.aws.dlq_name)
                storage = Storage(s3, settings.aws.bucket)
                videos = VideoStore(session_factory(engine))
                brand = BrandCache(storage, settings.processing.temp_dir)
                stack.callback(brand.remove)
                protection = None
                if settings.worker.asg_protection:
                    protection = await stack.enter_async_context(
                        ScaleInProtection(aws, settings.worker.imds_url)
                    )
                runner = JobRunner(settings, queue, storage, videos, brand, self._metrics)
                options = settings.worker
                sweeper = asyncio.create_task(
                    sweep_forever(
                        queue, videos, options.dlq_sweep_interval_s, options.dlq_hold_s, self._metrics
                    ),
                    name="dlq-sweeper",
                )
                readiness = Readiness(
                    "transcoder",
                    {
                        "temp_dir": lambda: asyncio.to_thread(check_writable, settings.processing.temp_dir),
                        "brand_assets": brand.get,
                        "database": videos.ping,
                        "storage": storage.ping,
                        "queue": queue.ping,
                    },
                    self._metrics,
                    timeout_s=_READINESS_TIMEOUT_S,
                )
                watch = asyncio.create_task(readiness.watch(), name="readiness")
                log.info(
                    "worker started",
                    extra={"concurrency": options.concurrency, "max_receive_count": queue.max_receive_count},
                )
                try:
                    await self._consume(queue, runner, readiness, protection)
                    await self._drain()
                finally:
                    watch.cancel()
                    sweeper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await sweeper
        finally:
            await engine.dispose()
        log.info("worker stopped")

    async def _consume(
        self, queue: JobQueue, runner: JobRunner, ready: Readiness, protection: ScaleInProtection | None
    ) -> None:
        options = self._settings.worker
        stopping = asyncio.create_task(self._stopping.wait())
        backoff = _RECEIVE_BACKOFF_S
        try:
            while not self._stopping.is_set():
                free = options.concurrency - len(self._jobs)
                if free <= 0:
                    await asyncio.wait({stopping, *self._jobs}, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    await ready.check()
                except Exception as exc:
                    # Polling now would take jobs only to fail them and burn their attempts.
                    log_failure(log, "not ready for jobs; not polling", exc, delay_s=backoff)
                    await asyncio.wait({stopping}, timeout=backoff)
                    backoff = min(_RECEIVE_BACKOFF_CAP_S, backoff * 2)
                    continue
                receive = asyncio.create_task(
                    queue.receive(queue.url, free, options.wait_time_s, options.visibility_timeout_s)
                )
                await asyncio.wait({stopping, receive}, return_when=asyncio.FIRST_COMPLETED)
                if not receive.done():
                    receive.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await receive
                    break
                try:
                    batch = receive.result()
                except Exception as exc:
                    log_failure(log, "receive failed; backing off", exc, delay_s=backoff)
                    await asyncio.wait({stopping}, timeout=backoff)
                    backoff = min(_RECEIVE_BACKOFF_CAP_S, backoff * 2)
                    continue
                backoff = _RECEIVE_BACKOFF_S
                if self._stopping.is_set():
                    # The poll answered just as the stop came: give these back rather than start them.
                    await self._hand_back(queue, batch)
                    break
                for message in batch:
                    job = Job(message, threading.Event())
                    task = asyncio.create_task(self._run_job(runner, job, protection))
                    self._jobs[task] = job
                    task.add_done_callback(self._jobs.pop)
        finally:
            stopping.cancel()

    async def _hand_back(self, queue: JobQueue, batch: list[Received]) -> None:
        for message in batch:
            try:
                await queue.hide(queue.url, message.receipt, 0)
            except Exception as exc:
                log_failure(log, "could not hand a message back; it reappears after its timeout", exc)

    async def _run_job(self, runner: JobRunner, job: Job, protection: ScaleInProtection | None) -> None:
        async with _held(protection):
            await runner.run(job)

    async def _drain(self) -> None:
        if not self._jobs:
            return
        grace = self._settings.worker.grace_s
        log.info("waiting for running jobs", extra={"jobs": len(self._jobs), "grace_s": grace})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        hurry = asyncio.create_task(self._hurry.wait())
        try:
            while self._jobs and not self._hurry.is_set() and loop.time() < deadline:
                await asyncio.wait(
                    {hurry, *self._jobs}, timeout=deadline - loop.time(), return_when=asyncio.FIRST_COMPLETED
                )
        finally:
            hurry.cancel()
        if self._jobs:
            log.warning("grace period over: cancelling running jobs", extra={"jobs": len(self._jobs)})
            for job in self._jobs.values():
                job.stop.set()
            await asyncio.wait(set(self._jobs))


@contextlib.asynccontextmanager
async def _held(protection: ScaleInProtection | None) -> AsyncIterator[None]:
    if protection is None:
        yield
    else:
        async with protection.held():
            yield
