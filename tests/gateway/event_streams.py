"""Reading ``GET /api/videos/events`` in tests: one stream read in the background, each item timestamped
on arrival, decoded by the command line's own decoder (anb_cli.sse)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from anb_cli.sse import Comment, Decoder, Event

DEADLINE_S = 30.0
"""Generous: only an event that never comes fails, not a slow machine."""


@dataclass(frozen=True)
class Received:
    at: float
    """time.monotonic() when the line that completed it arrived."""
    item: Event | Comment

    @property
    def data(self) -> dict[str, Any]:
        assert isinstance(self.item, Event), self.item
        decoded: dict[str, Any] = json.loads(self.item.data)
        return decoded


class Reader:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.items: list[Received] = []
        self._arrived = asyncio.Event()
        self.ended = asyncio.Event()
        """Set when the server ended the stream."""

    async def read(self) -> None:
        decoder = Decoder()
        async for line in self.response.aiter_lines():
            item = decoder.feed(line)
            if item is not None:
                self.items.append(Received(time.monotonic(), item))
                self._arrived.set()
        self.ended.set()

    def events(self, after: int = 0, before: int | None = None) -> list[Received]:
        return [got for got in self.items[after:before] if isinstance(got.item, Event)]

    def comments(self, text: str, after: int = 0) -> list[Received]:
        return [got for got in self.items[after:] if got.item == Comment(text)]

    async def wait_for(
        self, found: Callable[[Received], bool], after: int = 0, within: float = DEADLINE_S
    ) -> int:
        """Index of the first item at or after ``after`` for which ``found`` holds."""
        deadline = time.monotonic() + within
        while True:
            for index in range(after, len(self.items)):
                if found(self.items[index]):
                    return index
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"not received within {within} s; got {self.items[after:]}")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    async def wait_for_video(
        self,
        video_id: object,
        status: str | None = None,
        after: int = 0,
        *,
        progress: int | None = None,
        within: float = DEADLINE_S,
    ) -> int:
        """Index of the first event about ``video_id`` (with that status and progress, when given)."""

        def matches(got: Received) -> bool:
            if not isinstance(got.item, Event):
                return False
            data = got.data
            return (
                data["video_id"] == str(video_id)
                and status in (None, data["status"])
                and progress in (None, data["progress"])
            )

        return await self.wait_for(matches, after, within)

    async def settled(self, events: int = 0, after: int = 0) -> int:
        """Index of the first keepalive once ``events`` events came (counted from ``after``): what
        was sent at once came before it. Waiting for the events first keeps a slow read from being
        taken for an empty one."""
        for _ in range(events):
            after = await self.wait_for(lambda got: isinstance(got.item, Event), after) + 1
        return await self.wait_for(lambda got: got.item == Comment("keepalive"), after)


@asynccontextmanager
async def listening(
    client: httpx.AsyncClient, headers: dict[str, str], last_event_id: str | None = None
) -> AsyncIterator[Reader]:
    """An open stream, read until the block ends; it has started once ``: connected`` came."""
    sent = {**headers, **({"Last-Event-ID": last_event_id} if last_event_id is not None else {})}
    async with client.stream("GET", "/api/videos/events", headers=sent) as response:
        assert response.status_code == 200, await response.aread()
        reader = Reader(response)
        task = asyncio.create_task(reader.read())
        try:
            await reader.wait_for(lambda got: got.item == Comment("connected"))
            yield reader
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await task
