"""One PATCH's bytes: appended to this host's copy of the upload (``copies``), cut into parts at fixed
boundaries, each part uploaded and counted once S3 has it, and what is left after the last whole
part kept as the tail object.

The copy holds the upload from its last part boundary at least: when the previous PATCH was not
this process's, the tail it left in S3 is fetched into the copy first, so the first part of this
PATCH is that tail and its own first bytes. A part starts on its way to S3 as soon as the copy holds
its first byte, and is sent from the copy as the body brings the rest (``_Feed``): when the body ends
on a part boundary, its last part is stored moments later, instead of being sent whole only then,
which kept every PATCH waiting one part's upload. A streamed part cannot be replayed by botocore's
retries; one that fails goes again from the copy once the copy holds it whole. It holds an S3
connection for as long as its bytes take to arrive (minutes from a slow phone): S3 keeps a request
open while bytes flow and ends one idle for about 20 s, which the resend from the copy covers. The
offset in the upload's row moves part by part, in order, only after S3 has stored each one, so a
crash at any moment leaves the row telling the true offset. When the body ends, early or not, the
part it ended inside is called off and what arrived after the last whole part becomes the new tail
object (tus: store as much of what was received as possible), unless the upload is complete: then
the last part is stored and the caller completes the upload.

With ``Upload-Checksum`` nothing is counted until the whole body matches it: a mismatch leaves the
offset where it was (the parts written meanwhile are overwritten by the next attempt, or dropped
when the upload is completed with its own list of parts).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

from anb_common import keys
from anb_common.media import SNIFF_BYTES, sniff
from anb_common.reasons import UploadRule
from anb_ingest.errors import UploadRejected
from anb_ingest.tus.copies import LocalCopy
from anb_ingest.tus.offsets import Piece, begun, boundary
from anb_ingest.tus.state import Upload, UploadStates
from anb_ingest.tus.storage import TusStorage

log = logging.getLogger(__name__)

# Body bytes are written to the copy in steps of this size: few thread hand-offs, little memory
# (each upload in progress holds up to one step: with twenty at once, 1 MiB steps cost ingest 10 MB
# more peak RSS than these).
_STAGE_BYTES = 512 * 1024
# A streamed part is read from the copy in pieces of this size: with twenty uploads at once, what is
# in flight to S3 stays a few megabytes.
_FEED_BYTES = 128 * 1024


class BeyondLength(Exception):
    """The body would carry the upload past its declared length."""


class BodyCut(Exception):
    """The request's body ended before its end (the client went away): what arrived is kept."""


class ChecksumMismatch(Exception):
    """The body does not match its ``Upload-Checksum``."""


@dataclass(frozen=True, slots=True)
class Checksum:
    algorithm: str
    digest: bytes


class _Feed:
    """The bytes of one part, read from the copy as the body brings them there."""

    def __init__(self, copy: LocalCopy, piece: Piece) -> None:
        self.piece = piece
        self._copy = copy
        self._more = asyncio.Event()

    def wake(self) -> None:
        """The copy holds more bytes."""
        self._more.set()

    async def _held(self, at: int) -> int:
        """Wait until the copy holds bytes of this part past ``at``; where they end."""
        while True:
            self._more.clear()
            held = min(self._copy.end, self.piece.end)
            if held > at:
                return held
            await self._more.wait()

    async def chunks(self) -> AsyncIterator[bytes]:
        at = self.piece.start
        while at < self.piece.end:
            held = await self._held(at)
            chunk = await asyncio.to_thread(self._copy.read, at, min(held - at, _FEED_BYTES))
            at += len(chunk)
            yield chunk

    async def whole(self) -> None:
        """Wait until the copy holds the whole part."""
        await self._held(self.piece.end - 1)


HeadCheck = Callable[[Path, int], Awaitable[bool]]
"""Called with the copy (which holds the upload from its first byte) and how many bytes it holds;
True once the prefix has been judged (or can never be), so that it is not called again. Raises
``UploadRejected`` for a clip that breaks a rule."""


class PatchWriter:
    def __init__(
        self,
        upload: Upload,
        token: uuid.UUID,
        *,
        states: UploadStates,
        storage: TusStorage,
        copy: LocalCopy,
        parts_in_flight: int,
        checksum: Checksum | None = None,
        head_check: HeadCheck | None = None,
    ) -> None:
        self.upload = upload
        self._token = token
        self._states = states
        self._storage = storage
        self._copy = copy
        self._slots = asyncio.Semaphore(parts_in_flight)
        self._checksum = checksum
        self._digest = hashlib.new(checksum.algorithm) if checksum is not None else None
        # The prefix can be judged here only when the copy holds it.
        self._head_check = head_check if copy.start == 0 and not upload.head_checked else None
        self._base = boundary(len(upload.parts), upload.part_size)
        self._next = len(upload.parts) + 1
        self._stored: dict[int, str] = {}
        self._feeds: dict[int, _Feed] = {}
        self._uploads: dict[int, asyncio.Task[None]] = {}
        self._failure: BaseException | None = None
        self._commit = asyncio.Lock()
        self._stage = bytearray()
        self.ended_early: BaseException | None = None
        """What cut the body short (the client went away, or sent too slowly), if anything."""

    @property
    def _received(self) -> int:
        """The upload's bytes held by the copy (and the stage): up to this offset."""
        return self._copy.end + len(self._stage)

    async def write(self, body: AsyncIterator[bytes]) -> Upload:
        """Take ``body`` at the upload's offset; return the upload as its row now says. The caller
        completes the upload when the last part was stored (``upload.completing``)."""
        try:
            if self._copy.end < self.upload.offset:
                # A new copy: the tail the previous PATCH left comes from S3.
                tail = keys.tail_key(self.upload.id, self.upload.offset)
                async for chunk in self._storage.read(tail, self.upload.tail):
                    await self._copy.append(chunk)
            await self._take(body)
            await self._flush()
            await self._stream()
            await self._call_off_unfinished()
            await self._wait()
            if self._digest is not None and self.ended_early is None:
                assert self._checksum is not None
                if self._digest.digest() != self._checksum.digest:
                    raise ChecksumMismatch(self._checksum.algorithm)
            if self._digest is None or self.ended_early is None:
                await self._count_stored()
                await self._keep_tail()
            return self.upload
        finally:
            await self._cancel()

    async def _take(self, body: AsyncIterator[bytes]) -> None:
        try:
            async for chunk in body:
                if self._received + len(chunk) > self.upload.length:
                    raise BeyondLength
                if self._digest is not None:
                    self._digest.update(chunk)
                self._stage += chunk
                if len(self._stage) >= _STAGE_BYTES:
                    await self._flush()
                    await self._stream()
        except UploadRejected as exc:
            if exc.rule != UploadRule.TOO_SLOW:
                raise
            self.ended_early = exc
        except BodyCut as exc:
            self.ended_early = exc

    async def _flush(self) -> None:
        if self._stage:
            await self._copy.append(self._stage)
            self._stage = bytearray()
        await self._started()
        if self._head_check is not None and await self._head_check(self._copy.path, self._copy.end):
            self.upload = await self._states.head_checked(self.upload, self._token)
            self._head_check = None

    async def _started(self) -> None:
        """Open the multipart upload once the first bytes tell the container (hence the key)."""
        if self.upload.multipart_id is not None or self._base != 0:
            return
        whole = self._copy.end == self.upload.length
        if self._copy.end < SNIFF_BYTES and not whole:
            return
        with self._copy.section(0, min(self._copy.end, SNIFF_BYTES)) as head:
            container = sniff(head.read())
        if container is None:
            raise UploadRejected(UploadRule.NOT_A_VIDEO, "The file is not an MP4, MOV, WebM or MKV video.")
        key = keys.upload_key(self.upload.id, container.extension)
        multipart_id = await self._storage.start(key, container.mime_type)
        await self._states.started(self.upload.id, self._token, key, multipart_id)
        self.upload = replace(self.upload, object_key=key, multipart_id=multipart_id)

    async def _stream(self) -> None:
        """Start every part whose first byte the copy now holds; tell those on their way of more."""
        if self.upload.multipart_id is None:
            return
        # Before waiting for a slot: the parts holding the slots may need these bytes to finish.
        for feed in self._feeds.values():
            feed.wake()
        for piece in begun(self._next, self._copy.end, self.upload.length, self.upload.part_size):
            self._raise_failure()
            await self._slots.acquire()
            self._next = piece.number + 1
            feed = self._feeds[piece.number] = _Feed(self._copy, piece)
            self._uploads[piece.number] = asyncio.create_task(self._upload_part(feed))

    async def _call_off_unfinished(self) -> None:
        """The body is over: the part it ended inside will not be whole; its upload stops (S3 keeps
        nothing of a request cut short) and what the copy holds of it becomes the tail."""
        calling_off = [
            self._uploads[number]
            for number, feed in self._feeds.items()
            if feed.piece.end > self._copy.end and not self._uploads[number].done()
        ]
        for task in calling_off:
            task.cancel()
        if calling_off:
            await asyncio.wait(calling_off)

    async def _upload_part(self, feed: _Feed) -> None:
        key, multipart_id = self.upload.object_key, self.upload.multipart_id
        assert key is not None
        assert multipart_id is not None
        piece = feed.piece
        try:
            try:
                etag = await self._storage.stream_part(
                    key, multipart_id, piece.number, feed.chunks(), piece.size
                )
            except Exception as exc:
                log.warning(
                    "streamed part failed; sending it again from the copy",
                    extra={"upload_id": str(self.upload.id), "part": piece.number, "error": repr(exc)},
                )
                await feed.whole()
                with self._copy.section(piece.start, piece.size) as section:
                    etag = await self._storage.write_part(
                        key, multipart_id, piece.number, section, piece.size
                    )
            self._stored[piece.number] = etag
            if self._digest is None:
                await self._count_stored()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if self._failure is None:
                self._failure = exc
        finally:
            self._slots.release()

    async def _count_stored(self) -> None:
        """Move the row's offset past the parts S3 has stored, in order (a gap waits for its part)."""
        async with self._commit:
            upload = self.upload
            etags = []
            number = len(upload.parts) + 1
            final = None
            while number in self._stored:
                end = min(boundary(number, upload.part_size), upload.length)
                if end == upload.length:
                    final = self._stored[number]
                    break
                etags.append(self._stored[number])
                number += 1
            if etags:
                previous_tail = upload.tail
                offset = boundary(len(upload.parts) + len(etags), upload.part_size)
                self.upload = await self._states.advance(upload, self._token, etags, offset)
                if previous_tail:
                    # The old tail is inside the part just counted.
                    await self._storage.delete(keys.tail_key(upload.id, upload.offset))
            if final is not None and not self.upload.completing:
                self.upload = await self._states.last_part_stored(self.upload, self._token, final)

    async def _keep_tail(self) -> None:
        """What arrived after the last whole part becomes the new tail, unless the upload is done."""
        upload = self.upload
        if upload.completing:
            return
        start = boundary(len(upload.parts), upload.part_size)
        end = self._copy.end
        if end <= upload.offset or end - start >= upload.part_size:
            # Nothing new, or a part that failed to upload lies in between (the caller reports it).
            return
        key = keys.tail_key(upload.id, end)
        with self._copy.section(start, end - start) as section:
            await self._storage.put(key, section, end - start)
        self.upload = await self._states.advance(upload, self._token, [], end)
        if upload.tail:
            await self._storage.delete(keys.tail_key(upload.id, upload.offset))

    async def _wait(self) -> None:
        if self._uploads:
            await asyncio.wait(self._uploads.values())
        self._raise_failure()

    async def _cancel(self) -> None:
        for task in self._uploads.values():
            task.cancel()
        if self._uploads:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait(self._uploads.values())

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure
