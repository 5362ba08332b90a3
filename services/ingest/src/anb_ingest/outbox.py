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
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common.db.models import OutboxMessage
from anb_ingest.jobqueue import JobQueue

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def publish(self, queue: JobQueue, *, ids: Sequence[int] | None = None, limit: int = 50) -> int:
        """Publish pending rows (those in ``ids``, or the oldest ``limit``); return how many were sent.

        Raises the queue's error after marking what was sent before it, so callers can back off.
        """
        query = select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
        if ids is not None:
            query = query.where(OutboxMessage.id.in_(ids))
        query = query.order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)
        sent = 0
        failure: Exception | None = None
        async with self._sessions.begin() as session:
            for row in (await session.scalars(query)).all():
                row.attempts += 1
                try:
                    await queue.send(row.body)
                except Exception as exc:
                    # Commit the rows sent so far (and this attempt), then report the failure.
                    failure = exc
                    break
                row.sent_at = func.now()
                sent += 1
        if failure is not None:
            raise failure
        return sent


class Relay:
    """Background loop that publishes what the upload path could not, backing off while SQS fails."""

    def __init__(
        self, outbox: Outbox, queue: JobQueue, *, interval_s: float, batch: int, backoff_cap_s: float
    ) -> None:
        self._outbox = outbox
        self._queue = queue
        self._interval_s = interval_s
        self._batch = batch
        self._backoff_cap_s = backoff_cap_s

    async def run(self) -> None:
        failures = 0
        while True:
            try:
                sent = await self._outbox.publish(self._queue, limit=self._batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                # Doubling with full jitter: instances that saw the same outage do not retry in step.
                delay = min(self._backoff_cap_s, self._interval_s * 2**failures) * random.uniform(0.5, 1)
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
