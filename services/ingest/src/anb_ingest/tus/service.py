"""The tus resource rules: what each request does to an upload and what it is answered, in terms of
the upload's state (``state``), its bytes (``writer``, ``storage``) and the video it becomes.

Knows nothing of HTTP framing (``routes`` parses headers and sends ``Answer``s) nor of S3 (the
storage interface). Every request that changes an upload first takes its lease; the one that
brings the last byte completes the multipart upload, reads the object back, validates it with the
one-request path's prober, and records the video, its outbox message and the queue message exactly
as that path does, dropping the upload's row in the same transaction. A clip that breaks a rule,
whether its first bytes tell (``early``) or the whole file does, terminates the upload: the
multipart upload is aborted and every object and the row of the upload are removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common import keys
from anb_common.ingest_api import TUS_VERSION, VIDEO_STATUS_HEADER, tus_path
from anb_common.media import MediaFacts
from anb_common.metrics import Metric, Metrics
from anb_common.processes import alive
from anb_common.reasons import Reason, TusRule, UploadRule
from anb_common.settings import UploadLimits
from anb_ingest.cleanup import shielded
from anb_ingest.errors import OUTAGES, UploadRejected
from anb_ingest.partsize import part_size
from anb_ingest.pipeline import Pipeline
from anb_ingest.prober import Prober
from anb_ingest.receive import MAX_TITLE_CHARS
from anb_ingest.records import NewVideo, record
from anb_ingest.settings import IngestOptions
from anb_ingest.spool import Spool
from anb_ingest.tus import early
from anb_ingest.tus.copies import Copies, LocalCopy
from anb_ingest.tus.headers import http_date
from anb_ingest.tus.offsets import boundary
from anb_ingest.tus.state import LeaseLost, NewUpload, Refused, Upload, UploadStates, remove_in
from anb_ingest.tus.storage import TusStorage, UploadVanished
from anb_ingest.tus.writer import BeyondLength, Checksum, ChecksumMismatch, PatchWriter

log = logging.getLogger(__name__)

# When to try again after a refusal that passes by itself (a lease held, storage down).
_RETRY_S = 5
_SWEEP_BATCH = 20


@dataclass(frozen=True, slots=True)
class Answer:
    """What the HTTP layer sends: a status, tus headers, and for a refusal its reason."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    reason: Reason | None = None


def _refusal(status: int, code: str, **values: int | float | str) -> Answer:
    return Answer(status, {"Tus-Resumable": TUS_VERSION}, Reason(code, values))


@dataclass(frozen=True, slots=True)
class Creation:
    user_id: uuid.UUID
    length: int
    metadata: str
    """``Upload-Metadata`` as sent, answered back by HEAD."""
    title: bytes | None
    request_id: str | None = None


class TusService:
    def __init__(
        self,
        *,
        states: UploadStates,
        storage: TusStorage,
        prober: Prober,
        pipeline: Pipeline,
        sessions: async_sessionmaker[AsyncSession],
        limits: UploadLimits,
        options: IngestOptions,
        metrics: Metrics,
    ) -> None:
        self._copies = Copies(options.temp_dir)
        self._states = states
        self._storage = storage
        self._prober = prober
        self._pipeline = pipeline
        self._sessions = sessions
        self._limits = limits
        self._options = options
        self._metrics = metrics

    # --- requests ----------------------------------------------------------------------------------

    async def create(
        self, creation: Creation, body: AsyncIterator[bytes] | None, checksum: Checksum | None
    ) -> Answer:
        """POST: a new upload (with its first bytes when ``body`` is given)."""
        if creation.length > self._limits.max_bytes:
            return self._refused(413, UploadRule.TOO_LARGE, limit_bytes=self._limits.max_bytes)
        if creation.length == 0:
            return self._refused(400, UploadRule.EMPTY_FILE)
        if creation.title is None:
            return self._refused(400, TusRule.TITLE_MISSING)
        title = creation.title.decode("utf-8", errors="replace").strip()
        if not 1 <= len(title) <= MAX_TITLE_CHARS:
            return self._refused(400, UploadRule.TITLE, min_chars=1, max_chars=MAX_TITLE_CHARS)
        token = uuid.uuid4()
        new = NewUpload(
            id=uuid.uuid4(),
            user_id=creation.user_id,
            title=title,
            metadata=creation.metadata,
            length=creation.length,
            part_size=part_size(creation.length, self._options.part_size_bytes),
            expires_in_s=self._options.tus_expiry_s,
        )
        try:
            upload = await self._states.create(
                new, max_in_progress=self._options.tus_max_in_progress, token=token
            )
        except OUTAGES:
            return self._unavailable()
        if upload is None:
            answer = _refusal(429, TusRule.TOO_MANY, max=self._options.tus_max_in_progress)
            answer.headers["Retry-After"] = str(_RETRY_S * 12)
            return answer
        log.info("resumable upload created", extra={"upload_id": str(upload.id), "length": upload.length})
        if body is None:
            await self._release(upload.id, token)
            answer = Answer(201, self._headers(upload))
        else:
            written = await self._write(upload, token, body, checksum, creation.request_id)
            if written.status >= 300 and written.status != 408:
                return written
            answer = Answer(201, written.headers)
        answer.headers["Location"] = tus_path(upload.id)
        return answer

    async def head(self, user_id: uuid.UUID, upload_id: uuid.UUID) -> Answer:
        """HEAD: how much of the upload is durable (or, once it is a video, all of it)."""
        try:
            upload = await self._states.get(upload_id, user_id)
            if upload is None:
                size = await self._states.finished_size(upload_id, user_id)
                if size is None:
                    return _refusal(404, TusRule.NOT_FOUND)
                return Answer(200, _no_store({"Upload-Offset": str(size), "Upload-Length": str(size)}))
        except OUTAGES:
            return self._unavailable()
        if upload.expired:
            return _refusal(410, TusRule.EXPIRED, expired_at=http_date(upload.expires_at))
        headers = self._headers(upload)
        headers["Upload-Length"] = str(upload.length)
        if upload.metadata:
            headers["Upload-Metadata"] = upload.metadata
        return Answer(200, _no_store(headers))

    async def patch(
        self,
        user_id: uuid.UUID,
        upload_id: uuid.UUID,
        offset: int,
        body: AsyncIterator[bytes],
        checksum: Checksum | None,
        request_id: str | None = None,
    ) -> Answer:
        """PATCH: bytes at ``offset``, which must be the upload's."""
        token = uuid.uuid4()
        try:
            leased = await self._states.acquire(upload_id, user_id, token)
            if leased is Refused.MISSING:
                return await self._after_the_end(user_id, upload_id, offset)
        except OUTAGES:
            return self._unavailable()
        if leased is Refused.EXPIRED:
            return _refusal(410, TusRule.EXPIRED)
        if leased is Refused.LOCKED:
            return self._locked()
        assert isinstance(leased, Upload)
        if offset != leased.offset:
            await self._release(leased.id, token)
            return _refusal(409, TusRule.OFFSET_MISMATCH, offset=leased.offset)
        return await self._write(leased, token, body, checksum, request_id)

    async def terminate(self, user_id: uuid.UUID, upload_id: uuid.UUID) -> Answer:
        """DELETE: the upload and everything it stored go."""
        token = uuid.uuid4()
        try:
            leased = await self._states.acquire(upload_id, user_id, token, expired_too=True)
        except OUTAGES:
            return self._unavailable()
        if leased is Refused.MISSING:
            return _refusal(404, TusRule.NOT_FOUND)
        if leased is Refused.LOCKED:
            return self._locked()
        assert isinstance(leased, Upload)
        if not await self.discard(leased, token):
            return self._unavailable()
        log.info("resumable upload terminated", extra={"upload_id": str(upload_id)})
        return Answer(204, {"Tus-Resumable": TUS_VERSION})

    # --- background --------------------------------------------------------------------------------

    async def sweep(self) -> int:
        """Free the leases this host's dead processes held (a crash, a SIGKILL: their clients may
        resume at once rather than when the leases lapse), then remove uploads past their expiry
        that nobody is writing; how many went."""
        await self._states.free_dead_holders(alive)
        # Copies of uploads another host finished or removed, or that nobody writes here any more.
        existing = await self._states.existing(self._copies.ids())
        gone = set(self._copies.ids()) - existing
        for upload_id in gone | set(self._copies.idle(self._options.tus_copy_idle_s)):
            await self._copies.drop(upload_id)
        token = uuid.uuid4()
        swept = 0
        for upload in await self._states.take_expired(token, _SWEEP_BATCH):
            if await self.discard(upload, token):
                swept += 1
                log.info("expired resumable upload removed", extra={"upload_id": str(upload.id)})
        return swept

    async def discard(self, upload: Upload, token: uuid.UUID) -> bool:
        """Abort the multipart upload, remove every object of the upload and its row; False when
        storage or the database did not answer (the row stays, for a retry or the sweeper)."""

        await self._copies.drop(upload.id)

        async def undo() -> None:
            if upload.multipart_id is not None and upload.object_key is not None:
                await self._storage.abort(upload.object_key, upload.multipart_id)
            # Tails, and the completed object of an upload refused at the end: the row exists, so no
            # video owns any of them.
            await self._storage.delete_prefix(f"{keys.UPLOADS_PREFIX}{upload.id}.")
            await self._states.remove(upload.id, token)

        return await shielded(undo(), f"discard upload {upload.id}")

    # --- writing -----------------------------------------------------------------------------------

    async def _write(
        self,
        upload: Upload,
        token: uuid.UUID,
        body: AsyncIterator[bytes],
        checksum: Checksum | None,
        request_id: str | None,
    ) -> Answer:
        renewing = asyncio.create_task(self._renew(upload.id, token), name="tus-lease")
        writer: PatchWriter | None = None
        try:
            if upload.completing:
                # Every byte is stored already (an earlier attempt failed while completing).
                async for _ in body:
                    pass
            else:
                base = boundary(len(upload.parts), upload.part_size)
                writer = PatchWriter(
                    upload,
                    token,
                    states=self._states,
                    storage=self._storage,
                    copy=self._copies.at(upload.id, upload.offset, base),
                    parts_in_flight=self._options.parts_in_flight,
                    checksum=checksum,
                    head_check=early.HeadCheck(self._prober, self._options.part_size_bytes),
                )
                upload = await writer.write(body)
            if upload.completing:
                return await self._finish(upload, token, request_id)
        except UploadRejected as exc:
            await self.discard(writer.upload if writer else upload, token)
            return self._rejected(exc)
        except BeyondLength:
            return _refusal(413, TusRule.BEYOND_LENGTH, length=upload.length)
        except ChecksumMismatch:
            return _refusal(460, TusRule.CHECKSUM_MISMATCH)
        except LeaseLost:
            log.warning("lease lost while writing", extra={"upload_id": str(upload.id)})
            return self._locked()
        except OUTAGES as exc:
            log.warning(
                "resumable upload write failed: a dependency did not answer", extra={"error": repr(exc)}
            )
            return self._unavailable()
        finally:
            renewing.cancel()
            await self._release(upload.id, token)
        headers = self._headers(upload)
        if writer is not None and isinstance(writer.ended_early, UploadRejected):
            answer = self._rejected(writer.ended_early)
            answer.headers.update(headers)
            return answer
        return Answer(204, headers)

    async def _renew(self, upload_id: uuid.UUID, token: uuid.UUID) -> None:
        while True:
            await asyncio.sleep(self._states.lease_s / 3)
            try:
                await self._states.renew(upload_id, token)
            except LeaseLost:
                return
            except OUTAGES as exc:
                # The next renewal may pass; the writes conditioned on the lease decide in any case.
                log.warning("lease renewal failed", extra={"error": repr(exc)})

    async def _finish(self, upload: Upload, token: uuid.UUID, request_id: str | None) -> Answer:
        """Complete the multipart upload, validate the whole file, record the video.

        S3 assembles the object in a time that grows with its size (the largest share of the last
        PATCH), so what needs no object runs meanwhile: the probe of this host's copy when every
        PATCH reached it, and the removal of tails (none is needed once every part is stored)."""
        key, multipart_id = upload.object_key, upload.multipart_id
        assert key is not None
        assert multipart_id is not None
        assert upload.last_part_etag is not None
        copy = self._copies.get(upload.id)
        probing = None
        if copy is not None and copy.holds(0, upload.length) and copy.end == upload.length:
            # Every PATCH reached this process: the copy is the object, byte for byte (its parts
            # were uploaded from it), and no byte needs reading back.
            probing = asyncio.create_task(self._validate_copy(copy))
        tails = asyncio.create_task(self._drop_tails(upload.id))
        try:
            try:
                await self._storage.complete(key, multipart_id, [*upload.parts, upload.last_part_etag])
            except UploadVanished:
                # Completed by an attempt that failed after it, or aborted by the lifecycle rule.
                if not await self._storage.exists(key):
                    await self.discard(upload, token)
                    return _refusal(410, TusRule.EXPIRED)
            if probing is not None:
                size, sha256, facts = await probing
            else:
                size, sha256, facts = await self._validate_from_storage(upload, key)
        finally:
            if probing is not None and not probing.done():
                probing.cancel()
                await asyncio.wait([probing])
            await tails
        video = NewVideo(upload.id, upload.user_id, upload.title, key, size, sha256, facts, request_id)

        async def drop_row(session: AsyncSession) -> None:
            await remove_in(session, upload.id, token)

        outbox_id = await record(self._sessions, video, also=drop_row)
        await asyncio.gather(self._pipeline.publish_now(outbox_id), self._copies.drop(upload.id))
        self._metrics.record(Metric.UPLOADS_ACCEPTED)
        self._metrics.record(Metric.UPLOAD_BYTES, size)
        log.info(
            "resumable upload recorded", extra={"video_id": str(upload.id), "user_id": str(upload.user_id)}
        )
        return Answer(
            204, {"Tus-Resumable": TUS_VERSION, "Upload-Offset": str(size), VIDEO_STATUS_HEADER: "uploaded"}
        )

    async def _validate_copy(self, copy: LocalCopy) -> tuple[int, str, MediaFacts]:
        hashed = copy.sha256()
        sha256 = hashed if hashed is not None else await asyncio.to_thread(_sha256, copy.path)
        return copy.end, sha256, await self._prober.probe(copy.path)

    async def _drop_tails(self, upload_id: uuid.UUID) -> None:
        with contextlib.suppress(*OUTAGES):
            # Tails left by interrupted PATCHes; the invariant checker names any that stays.
            await self._storage.delete_prefix(keys.tail_prefix(upload_id))

    async def _validate_from_storage(self, upload: Upload, key: str) -> tuple[int, str, MediaFacts]:
        """Read the completed object back and validate it: some PATCHes reached another host."""
        spool = Spool(self._options.temp_dir, str(upload.id), hashed=False)
        try:
            size = await self._storage.download(key, spool.path)
            if size != upload.length:
                raise UploadRejected(
                    UploadRule.UNDECODABLE, f"{size} bytes stored, {upload.length} announced"
                )
            sha256 = await asyncio.to_thread(_sha256, spool.path)
            return size, sha256, await self._prober.probe(spool.path)
        finally:
            spool.close()

    # --- answers -----------------------------------------------------------------------------------

    async def _after_the_end(self, user_id: uuid.UUID, upload_id: uuid.UUID, offset: int) -> Answer:
        """A PATCH to an upload that has no row: finished (a video now) or unknown."""
        size = await self._states.finished_size(upload_id, user_id)
        if size is None:
            return _refusal(404, TusRule.NOT_FOUND)
        if offset != size:
            return _refusal(409, TusRule.OFFSET_MISMATCH, offset=size)
        return Answer(204, {"Tus-Resumable": TUS_VERSION, "Upload-Offset": str(size)})

    def _headers(self, upload: Upload) -> dict[str, str]:
        return {
            "Tus-Resumable": TUS_VERSION,
            "Upload-Offset": str(upload.offset),
            "Upload-Expires": http_date(upload.expires_at),
        }

    def _refused(self, status: int, code: str, **values: int | float | str) -> Answer:
        self._metrics.record(Metric.UPLOADS_REFUSED, Rule=code)
        return _refusal(status, code, **values)

    def _rejected(self, exc: UploadRejected) -> Answer:
        log.info(
            "resumable upload refused",
            extra={"rule": exc.rule, "values": exc.reason.values, "detail": exc.detail},
        )
        status = 408 if exc.rule == UploadRule.TOO_SLOW else 400
        return self._refused(status, exc.rule, **exc.reason.values)

    def _locked(self) -> Answer:
        answer = _refusal(423, TusRule.LOCKED)
        answer.headers["Retry-After"] = str(_RETRY_S)
        return answer

    def _unavailable(self) -> Answer:
        answer = _refusal(503, UploadRule.UNAVAILABLE)
        answer.headers["Retry-After"] = str(_RETRY_S)
        return answer

    async def _release(self, upload_id: uuid.UUID, token: uuid.UUID) -> None:
        await shielded(self._states.release(upload_id, token), f"release the lease of {upload_id}")


def _no_store(headers: dict[str, str]) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **headers}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()
