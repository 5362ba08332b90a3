"""One upload from request body to committed row and published job, leaving nothing behind on failure.

Order: stream the file into an S3 multipart upload and a local spool (hashing as it goes) -> probe
and validate the spooled copy -> complete the multipart upload -> insert the video and its outbox
row in one transaction -> publish the job. Anything that fails before the commit aborts the upload
(or deletes the completed object) and writes no row; the spool folder is always removed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common import keys
from anb_common.media import SNIFF_BYTES, MediaFacts, MediaRejected, check, probe, sniff
from anb_common.settings import UploadLimits
from anb_ingest.formparse import FileData, FileEnd, FileStart, FormError, parse_form
from anb_ingest.jobqueue import JobQueue
from anb_ingest.outbox import Outbox
from anb_ingest.parts import PartWriter
from anb_ingest.partsize import part_size
from anb_ingest.records import NewVideo, record
from anb_ingest.settings import IngestOptions
from anb_ingest.spool import Journal, Spool
from anb_ingest.storage import MultipartSink, UploadStore

log = logging.getLogger(__name__)

FILE_FIELD = "video_file"
TITLE_FIELD = "title"
MAX_TITLE_CHARS = 200


class DependencyUnavailable(Exception):
    """Storage, queue or database did not answer: the upload is undone and may be retried later."""


# What a dependency outage looks like from here (connection refused, timeouts, 5xx, a dropped pool).
_OUTAGES: tuple[type[BaseException], ...] = (BotoCoreError, ClientError, DBAPIError, ConnectionError)


class UploadRejected(Exception):
    """The upload breaks a rule; ``rule`` is a stable name, ``detail`` says what was wrong."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


@dataclass
class _Received:
    """What the body carried once it has been read to the end."""

    title: str | None = None
    file_seen: bool = False
    size: int = 0
    key: str | None = None


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
    ) -> None:
        self._limits = limits
        self._options = options
        self._store = store
        self._sessions = sessions
        self._outbox = outbox
        self._queue = queue

    async def accept(
        self,
        body: AsyncIterator[bytes],
        *,
        content_type: str | None,
        content_length: int | None,
        user_id: uuid.UUID,
    ) -> uuid.UUID:
        """Store, validate, record and enqueue one upload; return its video id or raise ``UploadRejected``."""
        if content_length is not None and content_length > _max_body_bytes(self._limits):
            raise UploadRejected("too_large", _too_large(self._limits))
        video_id = uuid.uuid4()
        upload = _Upload(
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
                received = await upload.receive(body)
                title = _valid_title(received)
                facts = await upload.validate()
                await upload.complete()
            except BaseException:
                # BaseException: a client that disconnects cancels or interrupts us mid-body, too.
                if not await _shielded(upload.discard(), "abort the multipart upload"):
                    upload.spool.keep_for_retry()
                raise
            assert received.key is not None
            video = NewVideo(
                video_id, user_id, title, received.key, received.size, upload.spool.sha256, facts
            )
            try:
                outbox_id = await record(self._sessions, video)
            except BaseException:
                if not await _shielded(self._store.delete(received.key), "delete the unrecorded object"):
                    upload.spool.keep_for_retry()
                raise
        except _OUTAGES as exc:
            log.warning("upload undone: a dependency did not answer", extra={"error": repr(exc)})
            raise DependencyUnavailable(str(exc)) from exc
        finally:
            upload.spool.close()
        await self._publish_now(outbox_id)
        return video_id

    async def _publish_now(self, outbox_id: int) -> None:
        try:
            await self._outbox.publish_one(
                self._queue, outbox_id, lock_timeout_s=self._options.publish_timeout_s
            )
        except Exception as exc:
            # The row is committed: the relay publishes it once the queue answers again.
            log.warning("job not published yet; the outbox relay will retry", extra={"error": repr(exc)})


class _Upload:
    """State of one upload in flight: the spool, the sink and the part writer, and how to undo them."""

    def __init__(
        self,
        video_id: uuid.UUID,
        *,
        limits: UploadLimits,
        options: IngestOptions,
        store: UploadStore,
        content_type: str | None,
        content_length: int | None,
    ) -> None:
        self.video_id = video_id
        self._limits = limits
        self._options = options
        self._store = store
        self._content_type = content_type
        # The file cannot exceed the limit (we stop at it), nor the body it travels in.
        bound = limits.max_bytes if content_length is None else min(content_length, limits.max_bytes)
        self._part_size = part_size(bound, options.part_size_bytes)
        self.spool = Spool(options.temp_dir, str(video_id))
        self._sink: MultipartSink | None = None
        self._writer: PartWriter | None = None
        self._head = bytearray()
        self._received = _Received()

    async def receive(self, body: AsyncIterator[bytes]) -> _Received:
        received = self._received
        events = parse_form(
            _capped(body, self._limits),
            self._content_type,
            max_field_bytes=self._options.max_field_bytes,
        )
        # Other file fields are read past (the body cap bounds them), so that a form without
        # video_file is answered "missing field" whatever else it carries.
        in_video = False
        try:
            async for event in events:
                if isinstance(event, FileStart):
                    in_video = event.name == FILE_FIELD
                    if in_video and received.file_seen:
                        raise UploadRejected("duplicate_file", f"{FILE_FIELD} was sent more than once.")
                    received.file_seen |= in_video
                elif isinstance(event, FileData):
                    if in_video:
                        await self._file_bytes(event.data)
                elif isinstance(event, FileEnd):
                    if in_video:
                        await self._file_end()
                    in_video = False
                elif event.name == TITLE_FIELD:
                    if received.title is not None:
                        raise UploadRejected("title", f"{TITLE_FIELD} was sent more than once.")
                    received.title = event.value
        except FormError as exc:
            raise UploadRejected("malformed_form", str(exc)) from exc
        finally:
            await events.aclose()
        if not received.file_seen:
            raise UploadRejected("missing_field", f"The field {FILE_FIELD} (the video file) is required.")
        if received.size == 0:
            raise UploadRejected("empty_file", "The uploaded file is empty.")
        return received

    async def _file_bytes(self, data: bytes) -> None:
        received = self._received
        received.size += len(data)
        if received.size > self._limits.max_bytes:
            raise UploadRejected("too_large", _too_large(self._limits))
        if self._writer is not None:
            await self._writer.feed(data)
            return
        self._head += data
        if len(self._head) >= SNIFF_BYTES:
            await self._open_sink()

    async def _file_end(self) -> None:
        if self._writer is None and self._head:
            await self._open_sink()
        if self._writer is not None:
            await self._writer.finish()

    async def _open_sink(self) -> None:
        """Sniff the first bytes: they decide the container, hence the key; then start storing."""
        container = sniff(bytes(self._head[:SNIFF_BYTES]))
        if container is None:
            raise UploadRejected("not_a_video", "The file is not an MP4, MOV, WebM or MKV video.")
        key = keys.upload_key(self.video_id, container.extension)
        self._received.key = key
        self._sink = await self._store.start(key, f"video/{_MIME[container.value]}")
        self.spool.journal(Journal(key, self._sink.upload_id))
        self._writer = PartWriter(self._sink, self.spool, self._part_size, self._options.parts_in_flight)
        head, self._head = bytes(self._head), bytearray()
        await self._writer.feed(head)

    async def validate(self) -> MediaFacts:
        try:
            facts = await asyncio.to_thread(probe, self.spool.path)
            check(facts, self._limits)
        except MediaRejected as exc:
            raise UploadRejected(exc.rule, exc.detail) from exc
        return facts

    async def complete(self) -> None:
        assert self._sink is not None
        await self._sink.complete()
        self._sink = None

    async def discard(self) -> None:
        try:
            if self._writer is not None:
                await self._writer.cancel()
        finally:
            if self._sink is not None:
                await self._sink.abort()
                self._sink = None


_MIME = {"mp4": "mp4", "mov": "quicktime", "webm": "webm", "mkv": "x-matroska"}


def _valid_title(received: _Received) -> str:
    if received.title is None:
        raise UploadRejected("missing_field", f"The field {TITLE_FIELD} is required.")
    title = received.title.strip()
    if not 1 <= len(title) <= MAX_TITLE_CHARS:
        raise UploadRejected("title", f"The title must have between 1 and {MAX_TITLE_CHARS} characters.")
    return title


def _max_body_bytes(limits: UploadLimits) -> int:
    return limits.max_bytes + limits.form_overhead_bytes


def _too_large(limits: UploadLimits) -> str:
    return f"The file is larger than the {limits.max_bytes / 1e6:g} MB limit."


async def _capped(body: AsyncIterator[bytes], limits: UploadLimits) -> AsyncIterator[bytes]:
    """The body, refused as soon as it passes the limit (a chunked body declares no length)."""
    total, limit = 0, _max_body_bytes(limits)
    async for chunk in body:
        total += len(chunk)
        if total > limit:
            raise UploadRejected("too_large", _too_large(limits))
        yield chunk


# Cleanups that outlive a cancelled request are kept referenced here until they finish.
_cleanups: set[asyncio.Task[bool]] = set()


async def _shielded(cleanup: Coroutine[Any, Any, None], what: str) -> bool:
    """Run ``cleanup`` to its end even if this request is being cancelled (the client went away),
    and never let its own failure hide the error that made it necessary. True when it worked."""
    task = asyncio.create_task(_logged(cleanup, what))
    _cleanups.add(task)
    task.add_done_callback(_cleanups.discard)
    return await asyncio.shield(task)


async def _logged(cleanup: Coroutine[Any, Any, None], what: str) -> bool:
    try:
        await cleanup
    except Exception:
        log.exception("could not %s; the periodic recovery will try again", what)
        return False
    return True
