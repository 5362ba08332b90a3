"""The slowest upload body the gateway waits for.

A client that trickles its body (a byte every few seconds) would hold a relay slot, ingest's open
multipart upload and its spool folder for as long as it liked. The body must keep up, on average,
with ``min_rate`` bytes a second: every byte earns ``1 / min_rate`` seconds of waiting, and waiting
for the next chunk spends them. Never more than ``stall_s`` is banked, so a fast start does not buy
a long stall later; whoever runs out is cut (``TooSlow``). Only time spent waiting on the client
counts: while the gateway waits on ingest, the client is not the slow one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass


class TooSlow(Exception):
    """The body fell further behind the minimum rate than its allowance."""


@dataclass(frozen=True)
class Pace:
    min_rate: float
    """Bytes a second, on average."""
    stall_s: float
    """The most the body may lag behind that rate: the longest stall, and the slow start allowed."""

    def credit(self, credit: float, waited_s: float, received: int) -> float:
        """Seconds the sender may still wait for its next chunk, after waiting ``waited_s`` for
        one of ``received`` bytes with ``credit`` seconds in hand."""
        return min(self.stall_s, credit - waited_s + received / self.min_rate)

    async def paced(self, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """``body``'s chunks, as long as they keep the pace; ``TooSlow`` once they do not."""
        clock = asyncio.get_running_loop().time
        credit = self.stall_s
        while True:
            started = clock()
            try:
                async with asyncio.timeout(credit):
                    chunk = await anext(body)
            except StopAsyncIteration:
                return
            except TimeoutError:
                raise TooSlow from None
            credit = self.credit(credit, clock() - started, len(chunk))
            yield chunk
