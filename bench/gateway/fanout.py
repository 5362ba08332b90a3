"""Event fan-out for the gateway benchmark: many clients follow one player's ``GET /api/videos/events``,
and each status commit is timed until the last of them has its event.

The clients are bare HTTP/1.1 connections read by one event loop in this process (an httpx stream
each would cost the measuring side more than the gateway); each records when every ``video`` event
arrives, so a commit's figure is the latest arrival of its event over all clients.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from urllib.parse import urlsplit

import asyncpg

_MARK = b"\nevent: video\n"


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self.arrivals: list[float] = []
        self._arrived = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, url: str, token: str) -> Client:
        address = urlsplit(url)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        writer.write(
            f"GET /api/videos/events HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200 "):
            raise RuntimeError(f"events refused: {head!r}")
        return cls(reader, writer)

    async def _read(self) -> None:
        tail = b""
        while chunk := await self._reader.read(65536):
            now = time.monotonic()
            # Keep the end of the last chunk: a marker may be split between two reads.
            seen = tail + chunk
            self.arrivals.extend([now] * seen.count(_MARK))
            tail = seen[-(len(_MARK) - 1) :]
            self._arrived.set()

    async def reach(self, count: int) -> float:
        """When this client's ``count``-th event arrived."""
        while len(self.arrivals) < count:
            self._arrived.clear()
            await self._arrived.wait()
        return self.arrivals[count - 1]

    async def close(self) -> None:
        self._task.cancel()
        self._writer.close()


async def fanout(
    url: str, token: str, video_id: uuid.UUID, dsn: str, clients: int, commits: int
) -> list[float]:
    """Seconds from each of ``commits`` status commits of ``video_id`` (alternating ``processing`` and
    ``uploaded``) to the last of ``clients`` streams of its owner having that event."""
    connection = await asyncpg.connect(dsn)
    followers = await asyncio.gather(*(Client.connect(url, token) for _ in range(clients)))
    try:
        # Every snapshot is in (the video is unfinished, so each stream's holds it) before timing starts.
        await asyncio.gather(*(follower.reach(1) for follower in followers))
        await asyncio.sleep(1.0)
        base = [len(follower.arrivals) for follower in followers]
        latencies = []
        for index in range(1, commits + 1):
            status = "processing" if index % 2 else "uploaded"
            started = time.monotonic()
            await connection.execute(
                "UPDATE videos SET status = $2, progress = 0 WHERE id = $1", video_id, status
            )
            arrived = await asyncio.gather(
                *(follower.reach(seen + index) for follower, seen in zip(followers, base, strict=True))
            )
            latencies.append(max(arrived) - started)
        return latencies
    finally:
        await asyncio.gather(*(follower.close() for follower in followers))
        await connection.close()
