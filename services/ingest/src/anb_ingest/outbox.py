"""Publishing the outbox: right after an upload commits, and by a relay for whatever that missed.

Rows are locked with ``FOR UPDATE SKIP LOCKED`` while they are published, so the upload path and
any number of relays (several ingest instances, before and after restarts) never send the same
row at the same time; a row is marked sent in the transaction that locked it. Delivery is
at least once: a crash between SQS accepting a message and the commit sends it again later, which
the transcoder tolerates (it skips a video that is no longer ``uploaded``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta

from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.db.models import OutboxMessage
from anb_ingest.jobqueue import JobQueue

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def publish_one(self, queue: JobQueue, outbox_id: int, *, lock_timeout_s: float) -> None:
        """Publish one row now (the upload path); on return the job is on the queue.

        Waits (up to ``lock_timeout_s``) for a relay holding the row rather than skipping it: once
        the relay commits, the row no longer matches ``sent_at IS NULL`` and there is nothing to do.
        """
        query = (
            select(OutboxMessage)
            .where(OutboxMessage.id == outbox_id, OutboxMessage.sent_at.is_(None))
            .with_for_update()
        )
        async with self._sessions.begin() as session:
            await session.execute(text(f"SET LOCAL lock_timeout = {int(lock_timeout_s * 1000)}"))
            _, failure = await self._send(session, queue, query)
        if failure is not None:
            raise failure

    async def publish_pending(self, queue: JobQueue, *, limit: int, older_than_s: float) -> int:
        """Publish the oldest pending rows that the upload path has had time to publish itself.

        Rows locked by another publisher are skipped, not waited for. Returns how many were sent;
        raises the queue's error after committing what was sent before it, so callers can back off.
        """
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.created_at < func.now() - timedelta(seconds=older_than_s),
            )
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self._sessions.begin() as session:
            sent, failure = await self._send(session, queue, query)
        if failure is not None:
            raise failure
        return sent

    @staticmethod
    async def _send(
        session: AsyncSession, queue: JobQueue, query: Select[OutboxMessage]
    ) -> tuple[int, Exception | None]:
        """Send the selected rows in order, marking each sent; stop at the first failure and
        return it, so that the caller's commit keeps what was sent and the attempt counts."""
        sent = 0
        for row in (await session.scalars(query)).all():
            row.attempts += 1
            try:
                await queue.send(row.body, row.request_id)
            except Exception as exc:
                return sent, exc
            row.sent_at = func.now()
            sent += 1
        return sent, None


class Relay:
    """Background loop that publishes what the upload path could not, backing off while SQS fails."""

    def __init__(
        self,
        outbox: Outbox,
        queue: JobQueue,
        *,
        interval_s: float,
        batch: int,
        backoff_cap_s: float,
        grace_s: float,
    ) -> None:
        self._outbox = outbox
        self._grace_s = grace_s
        self._queue = queue
        self._interval_s = interval_s
        self._batch = batch
        self._backoff_cap_s = backoff_cap_s

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                sent = await self._outbox.publish_pending(
                    self._queue, limit=self._batch, older_than_s=self._grace_s
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                # Doubling (exponent capped: an outage of hours must not overflow it) with jitter, so
                # that instances which saw the same outage do not retry in step.
                backoff = self._interval_s * 2 ** min(failures, 20)
                delay = min(self._backoff_cap_s, backoff) * random.uniform(0.5, 1)
                log.warning(
                    "outbox relay could not publish; retrying",
                    extra={"error": repr(exc), "retry_in_s": round(delay, 2), "failures": failures},
                )
                await asyncio.sleep(delay)
                continue
            if sent:
                log.info("outbox relay published pending jobs", extra={"sent": sent})
            failures = 0
            # A full batch means more may be waiting: go again at once.
            if sent < self._batch:
                await asyncio.sleep(self._interval_s)
