"""Cut a byte stream into parts and write them to a sink with a bounded number in flight.

Memory is bounded by construction: one part being filled plus at most ``in_flight`` parts being
uploaded. When all upload slots are busy, ``feed`` waits, so the caller stops reading the request
body and TCP flow control pushes back on the sender instead of the body piling up in RAM.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from anb_ingest.storage import MultipartSink

PartHook = Callable[[bytes], Awaitable[None]]


class PartWriter:
    def __init__(self, sink: MultipartSink, part_size: int, in_flight: int, on_part: PartHook) -> None:
        """``on_part`` sees every part, in order, before it is uploaded (spooling and hashing)."""
        if in_flight < 1:
            raise ValueError("at least one part must be allowed in flight")
        self._sink = sink
        self._part_size = part_size
        self._slots = asyncio.Semaphore(in_flight)
        self._on_part = on_part
        self._buffer = bytearray()
        self._next_number = 1
        self._tasks: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None
        self.size = 0

    async def feed(self, data: bytes) -> None:
        self._raise_failure()
        self.size += len(data)
        view = memoryview(data)
        while view:
            room = self._part_size - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) == self._part_size:
                await self._ship()

    async def finish(self) -> None:
        """Ship the last (possibly short) part and wait for every part to be stored."""
        if self._buffer or self._next_number == 1:
            await self._ship()
        if self._tasks:
            await asyncio.wait(self._tasks)
        self._raise_failure()

    async def cancel(self) -> None:
        """Stop the parts still in flight (the caller then aborts the sink)."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        self._buffer = bytearray()

    async def _ship(self) -> None:
        part = bytes(self._buffer)
        self._buffer = bytearray()
        await self._on_part(part)
        await self._slots.acquire()
        self._raise_failure()
        number = self._next_number
        self._next_number += 1
        task = asyncio.create_task(self._write(number, part))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, number: int, part: bytes) -> None:
        try:
            await self._sink.write_part(number, part)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            if self._failure is None:
                self._failure = exc
        finally:
            self._slots.release()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure
