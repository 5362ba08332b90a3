"""One upload from request body to committed row and published job, leaving nothing behind on failure.

Order: read the body (``receive``: the file streamed into an S3 multipart upload and a local spool,
hashed as it goes) -> probe and validate the spooled copy (``prober``, in a child process) ->
complete the multipart upload -> insert the video and its outbox row in one transaction -> publish
the job. Anything that fails before the commit aborts the upload (or deletes the completed object)
and writes no row. The spool folder is removed; when undoing itself failed, only its journal stays,
for ``recovery`` to finish the job.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.settings import UploadLimits
from anb_ingest.cleanup import shielded
from anb_ingest.errors import OUTAGES, DependencyUnavailable
from anb_ingest.jobqueue import JobQueue
from anb_ingest.outbox import Outbox
from anb_ingest.prober import Prober
from anb_ingest.receive import UploadReader, refuse_declared_length
from anb_ingest.records import NewVideo, record
from anb_ingest.settings import IngestOptions
from anb_ingest.storage import UploadStore

log = logging.getLogger(__name__)


class Pipeline:
    def __init__(
        self,
        *,
        limits: UploadLimits,
        options: IngestOptions,
        store: UploadStore,
        sessions: async_sessionmaker[AsyncSession],
        outbox: Outbox,
        queue: JobQueue,
        prober: Prober,
    ) -> None:
        self._limits = limits
        self._options = options
        self._store = store
        self._sessions = sessions
        self._outbox = outbox
        self._queue = queue
        self._prober = prober

    async def accept(
        self,
        body: AsyncIterator[bytes],
        *,
        content_type: str | None,
        content_length: int | None,
        user_id: uuid.UUID,
        request_id: str | None = None,
    ) -> NewVideo:
        """Store, validate, record and enqueue one upload; return what was recorded or raise
        ``UploadRejected``."""
        refuse_declared_length(content_length, self._limits)
        video_id = uuid.uuid4()
        reader = UploadReader(
            video_id,
            limits=self._limits,
            options=self._options,
            store=self._store,
            content_type=content_type,
            content_length=content_length,
        )
        # The spool folder (and its journal) lives until the row is committed or everything is
        # undone: a crash in between leaves it for the next start to clean up (see ``recovery``).
        try:
            try:
                received = await reader.read(body)
                facts = await self._prober.probe(received.local_copy)
                await reader.complete()
            except BaseException:
                # BaseException: a client that disconnects cancels or interrupts us mid-body, too.
                if not await shielded(reader.discard(), "abort the multipart upload"):
                    reader.keep_for_retry()
                raise
            video = NewVideo(
                video_id,
                user_id,
                received.title,
                received.key,
                received.size,
                received.sha256,
                facts,
                request_id,
            )
            try:
                outbox_id = await record(self._sessions, video)
            except BaseException:
                if not await shielded(self._store.delete(received.key), "delete the unrecorded object"):
                    reader.keep_for_retry()
                raise
        except OUTAGES as exc:
            log.warning("upload undone: a dependency did not answer", extra={"error": repr(exc)})
            raise DependencyUnavailable(str(exc)) from exc
        finally:
            reader.close()
        await self.publish_now(outbox_id)
        return video

    async def publish_now(self, outbox_id: int) -> None:
        """Put a committed video's job on the queue before answering (the relay retries a miss)."""
        try:
            await self._outbox.publish_one(
                self._queue, outbox_id, lock_timeout_s=self._options.publish_timeout_s
            )
        except Exception as exc:
            # The row is committed: the relay publishes it once the queue answers again.
            log.warning("job not published yet; the outbox relay will retry", extra={"error": repr(exc)})
