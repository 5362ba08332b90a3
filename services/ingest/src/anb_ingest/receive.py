"""Reading one upload body: the form's fields, and the file sniffed, spooled and streamed into S3.

An ``UploadReader`` owns what reading starts: the spool folder (the local copy and its journal), the
S3 multipart upload and the parts in flight. ``read`` enforces the form's rules as the bytes arrive
and hands back what the body carried; the caller (``pipeline``) then completes the object or
discards it, and always closes the reader.

The body is never trusted for its size: a declared length over the limit is refused before reading,
and a chunked body (no declared length) is cut off as soon as it passes the limit, so a client can
neither fill the disk nor keep the connection busy past it. Nor for its pace: past a grace time, the
body must average a minimum rate, or reading stops (408), so a trickle cannot hold what an upload
holds (a multipart upload, a spool folder, a connection) for hours.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from anb_common import keys
from anb_common.media import SNIFF_BYTES, sniff
from anb_common.reasons import UploadRule
from anb_common.settings import UploadLimits
from anb_ingest.errors import UploadRejected
from anb_ingest.formparse import FileData, FileEnd, FileStart, FormError, parse_form
from anb_ingest.parts import PartWriter
from anb_ingest.partsize import part_size
from anb_ingest.settings import IngestOptions
from anb_ingest.spool import Journal, Spool
from anb_ingest.storage import MultipartSink, UploadStore

FILE_FIELD = "video_file"
TITLE_FIELD = "title"
MAX_TITLE_CHARS = 200


@dataclass(frozen=True, slots=True)
class Received:
    """What the body carried, read to its end and within the form's rules."""

    title: str
    """Trimmed, 1 to ``MAX_TITLE_CHARS`` characters."""
    key: str
    """Where the object goes: the extension comes from the sniffed container, never the file name."""
    size: int
    sha256: str
    local_copy: Path
    """The complete spooled file, for probing; it goes when the reader is closed."""


def refuse_declared_length(content_length: int | None, limits: UploadLimits) -> None:
    """Refuse, before anything is read or created, a body that says it is longer than the limit."""
    if content_length is not None and content_length > _max_body_bytes(limits):
        raise _too_large(limits)


class UploadReader:
    """One upload being read: its spool, its multipart sink and part writer, and how to undo them."""

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
        self._video_id = video_id
        self._limits = limits
        self._options = options
        self._store = store
        self._content_type = content_type
        # The file cannot exceed the limit (we stop at it), nor the body it travels in.
        bound = limits.max_bytes if content_length is None else min(content_length, limits.max_bytes)
        self._part_size = part_size(bound, options.part_size_bytes)
        self._spool = Spool(options.temp_dir, str(video_id))
        self._sink: MultipartSink | None = None
        self._writer: PartWriter | None = None
        self._head = bytearray()
        self._size = 0

    async def read(self, body: AsyncIterator[bytes]) -> Received:
        """Read ``body`` to its end; raise ``UploadRejected`` at the first form rule it breaks."""
        title: str | None = None
        file_seen = False
        events = parse_form(
            guarded(body, self._limits, self._options),
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
                    if in_video and file_seen:
                        raise _sent_twice(FILE_FIELD)
                    file_seen |= in_video
                elif isinstance(event, FileData):
                    if in_video:
                        await self._file_bytes(event.data)
                elif isinstance(event, FileEnd):
                    if in_video:
                        await self._file_end()
                    in_video = False
                elif event.name == TITLE_FIELD:
                    if title is not None:
                        raise _sent_twice(TITLE_FIELD)
                    title = event.value
        except FormError as exc:
            raise UploadRejected(UploadRule.MALFORMED_FORM, str(exc)) from exc
        finally:
            await events.aclose()
        if not file_seen:
            raise _missing(FILE_FIELD)
        if self._size == 0:
            raise UploadRejected(UploadRule.EMPTY_FILE, "The uploaded file is empty.")
        # A non-empty file has ended (the parser refuses a truncated body), so it was sniffed.
        assert self._sink is not None
        return Received(_valid_title(title), self._sink.key, self._size, self._spool.sha256, self._spool.path)

    async def complete(self) -> None:
        """Make the object visible: only once what was read has been validated."""
        assert self._sink is not None
        await self._sink.complete()
        self._sink = None

    async def discard(self) -> None:
        """Stop the parts in flight and abort the multipart upload (unless it was completed)."""
        try:
            if self._writer is not None:
                await self._writer.cancel()
        finally:
            if self._sink is not None:
                await self._sink.abort()
                self._sink = None

    def keep_for_retry(self) -> None:
        """Undoing failed: leave the spool's journal for the periodic recovery to finish the job."""
        self._spool.keep_for_retry()

    def close(self) -> None:
        """Remove the spool folder (all but the journal when it is kept for a retry)."""
        self._spool.close()

    async def _file_bytes(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > self._limits.max_bytes:
            raise _too_large(self._limits)
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
            raise UploadRejected(UploadRule.NOT_A_VIDEO, "The file is not an MP4, MOV, WebM or MKV video.")
        key = keys.upload_key(self._video_id, container.extension)
        self._sink = await self._store.start(key, container.mime_type)
        self._spool.journal(Journal(key, self._sink.upload_id))
        self._writer = PartWriter(self._sink, self._spool, self._part_size, self._options.parts_in_flight)
        head, self._head = bytes(self._head), bytearray()
        await self._writer.feed(head)


def _valid_title(title: str | None) -> str:
    if title is None:
        raise _missing(TITLE_FIELD)
    title = title.strip()
    if not 1 <= len(title) <= MAX_TITLE_CHARS:
        raise UploadRejected(
            UploadRule.TITLE,
            f"The title has {len(title)} characters once trimmed.",
            min_chars=1,
            max_chars=MAX_TITLE_CHARS,
        )
    return title


def _missing(field: str) -> UploadRejected:
    return UploadRejected(UploadRule.MISSING_FIELD, f"The form has no {field} field.", field=field)


def _sent_twice(field: str) -> UploadRejected:
    return UploadRejected(UploadRule.DUPLICATE_FIELD, f"{field} was sent more than once.", field=field)


def _max_body_bytes(limits: UploadLimits) -> int:
    return limits.max_bytes + limits.form_overhead_bytes


def _too_large(limits: UploadLimits) -> UploadRejected:
    return UploadRejected(
        UploadRule.TOO_LARGE,
        f"The file is larger than the {limits.max_bytes / 1e6:g} MB limit.",
        limit_bytes=limits.max_bytes,
    )


async def guarded(
    body: AsyncIterator[bytes], limits: UploadLimits, options: IngestOptions
) -> AsyncIterator[bytes]:
    """The body, refused as soon as it passes the size limit (a chunked body declares no length), or
    as soon as it falls behind the minimum rate. Only the time spent waiting for the client counts:
    while we wait on storage, its bytes queue up in the socket and arrive at once afterwards."""
    total, limit = 0, _max_body_bytes(limits)
    waited = 0.0
    while True:
        # The next bytes must come before the sender falls below the rate, grace included.
        allowed = options.body_grace_s + total / options.body_min_bytes_per_s - waited
        started = time.monotonic()
        try:
            async with asyncio.timeout(max(allowed, 0.0)):
                chunk = await anext(body)
        except StopAsyncIteration:
            return
        except TimeoutError:
            waited += time.monotonic() - started
            raise UploadRejected(
                UploadRule.TOO_SLOW,
                f"{total} bytes in {waited:.1f} s of waiting for the body.",
                bytes_per_s=round(total / waited) if waited > 0 else 0,
                min_bytes_per_s=options.body_min_bytes_per_s,
            ) from None
        waited += time.monotonic() - started
        total += len(chunk)
        if total > limit:
            raise _too_large(limits)
        yield chunk
