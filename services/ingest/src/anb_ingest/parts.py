"""Cut the incoming file into S3 parts and upload them with a bounded number in flight.

Bytes are staged in one small buffer and appended to the spool; each time the spool has grown by a
part, that part is uploaded straight from the file. So the parts waiting or in flight (at most
``in_flight`` plus the one being filled) are buffered on local disk, not in memory: the process
holds the staging buffer and, per part in flight, the HTTP client's 64 KiB send chunks, whatever
the part size. When every upload slot is busy, ``feed`` waits, so the caller stops reading the
request body and TCP flow control pushes back on the sender.
"""

from __future__ import annotations

import asyncio

from anb_ingest.spool import Spool
from anb_ingest.storage import MultipartSink

# Disk writes (and hashing) in 1 MiB steps: few thread hand-offs, little memory.
STAGE_BYTES = 1024 * 1024


class PartWriter:
    def __init__(self, sink: MultipartSink, spool: Spool, part_size: int, in_flight: int) -> None:
        if in_flight < 1:
            raise ValueError("at least one part must be allowed in flight")
        self._sink = sink
        self._spool = spool
        self._part_size = part_size
        self._slots = asyncio.Semaphore(in_flight)
        self._stage = bytearray(min(STAGE_BYTES, part_size))
        self._staged = 0
        self._shipped = 0
        self._next_number = 1
        self._tasks: set[asyncio.Task[None]] = set()
        self._failure: BaseException | None = None

    async def feed(self, data: bytes) -> None:
        self._raise_failure()
        view = memoryview(data)
        while view:
            taken = min(len(self._stage) - self._staged, len(view))
            self._stage[self._staged : self._staged + taken] = view[:taken]
            self._staged += taken
            view = view[taken:]
            if self._staged == len(self._stage):
                await self._flush()
                while self._spool.size - self._shipped >= self._part_size:
                    await self._ship(self._part_size)

    async def finish(self) -> None:
        """Upload the last (possibly short) part and wait for every part to be stored."""
        await self._flush()
        while self._spool.size - self._shipped > 0:
            await self._ship(min(self._part_size, self._spool.size - self._shipped))
        self._spool.seal()
        if self._tasks:
            await asyncio.wait(self._tasks)
        self._raise_failure()

    async def cancel(self) -> None:
        """Stop the parts still in flight (the caller then aborts the sink)."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)

    async def _flush(self) -> None:
        if self._staged:
            await self._spool.write(memoryview(self._stage)[: self._staged])
            self._staged = 0

    async def _ship(self, length: int) -> None:
        await self._slots.acquire()
        if self._failure is not None:
            self._slots.release()
            self._raise_failure()
        number, offset = self._next_number, self._shipped
        self._next_number += 1
        self._shipped += length
        task = asyncio.create_task(self._write(number, offset, length))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _write(self, number: int, offset: int, length: int) -> None:
        try:
            with self._spool.section(offset, length) as body:
                await self._sink.write_part(number, body, length)
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
