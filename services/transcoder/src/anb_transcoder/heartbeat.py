"""Keep a received message invisible (and the video's lease held) while its job runs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from anb_transcoder.failures import log_failure
from anb_transcoder.queue import JobQueue, Received

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def heartbeat(
    queue: JobQueue,
    message: Received,
    every_s: float,
    extend_s: int,
    also: Callable[[], Awaitable[object]],
) -> AsyncIterator[None]:
    """Renew the message's visibility every ``every_s`` for ``extend_s`` from then, and call ``also``
    (the lease renewal) at the same beat, until the block ends.

    The renewal stops (and is awaited) before the block's caller settles the message, so a late
    renewal can never re-hide a message that was just handed back.
    """
    task = asyncio.create_task(_beat(queue, message, every_s, extend_s, also), name="heartbeat")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _beat(
    queue: JobQueue,
    message: Received,
    every_s: float,
    extend_s: int,
    also: Callable[[], Awaitable[object]],
) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await queue.hide(queue.url, message.receipt, extend_s)
        except Exception as exc:
            # One missed renewal still leaves two thirds of the timeout; the next one may succeed.
            log_failure(log, "visibility heartbeat failed", exc)
        else:
            log.info("visibility extended", extra={"seconds": extend_s})
        try:
            await also()
        except Exception as exc:
            log_failure(log, "lease renewal failed", exc)
