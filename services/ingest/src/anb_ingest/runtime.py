"""What lives as long as the app: the database engine, S3 and SQS clients, the prober, the pipeline,
the relay, the readiness check and the metrics publisher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from litestar import Litestar
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common import identity, signing_keys
from anb_common.aws import Aws
from anb_common.db.engine import create_engine, session_factory
from anb_common.metrics import Metrics, publishing
from anb_common.readiness import Readiness
from anb_ingest.jobqueue import SqsJobQueue
from anb_ingest.outbox import Outbox, Relay
from anb_ingest.pipeline import Pipeline
from anb_ingest.posters import Posters
from anb_ingest.prober import Prober
from anb_ingest.recovery import recover
from anb_ingest.s3store import S3UploadStore
from anb_ingest.settings import IngestOptions, IngestSettings
from anb_ingest.tus.s3 import S3TusStorage
from anb_ingest.tus.service import TusService
from anb_ingest.tus.state import UploadStates

log = logging.getLogger(__name__)


async def _recover_periodically(
    parent: Path, store: S3UploadStore, sessions: async_sessionmaker[AsyncSession], options: IngestOptions
) -> None:
    while True:
        await asyncio.sleep(options.recovery_interval_s)
        try:
            await recover(parent, store, sessions, older_than_s=options.stale_spool_s, at_start_up=False)
        except Exception:
            # The next round tries again; the janitor must outlive any one outage.
            log.exception("upload recovery round failed")


async def _sweep_periodically(service: TusService, interval_s: float) -> None:
    # The first round at once: it frees the leases a crashed predecessor on this host held.
    while True:
        try:
            await service.sweep()
        except Exception:
            # The next round tries again; the bucket's lifecycle rule is the backstop meanwhile.
            log.exception("resumable uploads sweep failed")
        await asyncio.sleep(interval_s)


class Runtime:
    def __init__(self, settings: IngestSettings) -> None:
        self.settings = settings
        # Fails here, before the server binds, when the key is missing or short outside dev mode;
        # in dev mode it is the key the gateway signs with (one file under the devdata folder).
        self.internal_secret = signing_keys.internal_key(settings.security)
        # Each gateway token is accepted once: one that was read off a request cannot be replayed.
        self.seen_nonces = identity.SeenNonces()
        self.metrics = Metrics()
        self._pipeline: Pipeline | None = None
        self._tus: TusService | None = None
        self._posters: Posters | None = None
        self._readiness: Readiness | None = None

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            raise RuntimeError("the ingest runtime is not started")
        return self._pipeline

    @property
    def tus(self) -> TusService:
        if self._tus is None:
            raise RuntimeError("the ingest runtime is not started")
        return self._tus

    @property
    def posters(self) -> Posters:
        if self._posters is None:
            raise RuntimeError("the ingest runtime is not started")
        return self._posters

    @property
    def readiness(self) -> Readiness:
        if self._readiness is None:
            raise RuntimeError("the ingest runtime is not started")
        return self._readiness

    @asynccontextmanager
    async def lifespan(self, app: Litestar) -> AsyncIterator[None]:
        settings = self.settings
        options = settings.ingest
        engine = create_engine(settings.db)
        async with AsyncExitStack() as stack:
            stack.push_async_callback(engine.dispose)
            await stack.enter_async_context(publishing(self.metrics, Aws(settings.aws), settings.metrics))
            s3 = await stack.enter_async_context(Aws(settings.aws).s3())
            s3_streaming = await stack.enter_async_context(Aws(settings.aws).s3_streaming())
            queue_settings = settings.queue_aws()
            sqs = await stack.enter_async_context(Aws(queue_settings).sqs())
            # The publish tried before answering gets one short attempt: the relay retries properly.
            quick = queue_settings.model_copy(
                update={
                    "connect_timeout_s": options.publish_timeout_s,
                    "read_timeout_s": options.publish_timeout_s,
                    "max_attempts": 1,
                }
            )
            quick_sqs = await stack.enter_async_context(Aws(quick).sqs())
            sessions = session_factory(engine)
            store = S3UploadStore(s3, settings.aws.bucket)

            async def database() -> None:
                async with sessions() as session:
                    await session.execute(text("SELECT 1"))

            self._readiness = Readiness("ingest", {"database": database, "storage": store.ping}, self.metrics)
            await recover(
                options.temp_dir, store, sessions, older_than_s=options.stale_spool_s, at_start_up=True
            )
            outbox = Outbox(sessions)
            # Before taking requests: the fork server imports PyAV once, for every probe to come.
            prober = Prober(settings.upload, options)
            await asyncio.to_thread(prober.start)
            self._pipeline = Pipeline(
                limits=settings.upload,
                options=options,
                store=store,
                sessions=sessions,
                outbox=outbox,
                queue=SqsJobQueue(quick_sqs, settings.aws.queue_name),
                prober=prober,
            )
            relay = Relay(
                outbox,
                SqsJobQueue(sqs, settings.aws.queue_name),
                interval_s=options.relay_interval_s,
                batch=options.relay_batch,
                backoff_cap_s=options.relay_backoff_cap_s,
                grace_s=options.relay_grace_s,
            )
            self._tus = TusService(
                states=UploadStates(sessions, lease_s=options.tus_lease_s),
                storage=S3TusStorage(s3, settings.aws.bucket, streaming=s3_streaming),
                prober=prober,
                pipeline=self._pipeline,
                sessions=sessions,
                limits=settings.upload,
                options=options,
                metrics=self.metrics,
            )
            self._posters = Posters(s3, settings.aws.bucket, sessions, prober, options.temp_dir)
            sweeper = asyncio.create_task(
                _sweep_periodically(self._tus, options.tus_sweep_interval_s), name="tus-sweeper"
            )
            task = asyncio.create_task(relay.run(), name="outbox-relay")
            janitor = asyncio.create_task(
                _recover_periodically(options.temp_dir, store, sessions, options), name="upload-recovery"
            )
            # The first pass tells systemd READY=1: the app has started, the database and storage answer.
            watch = asyncio.create_task(self._readiness.watch(), name="readiness")
            try:
                yield
            finally:
                watch.cancel()
                sweeper.cancel()
                janitor.cancel()
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
                self._pipeline = None
                self._tus = None
                self._posters = None
                self._readiness = None
