"""The change feed: one connection per gateway process LISTENing to the owners whose listing changed,
and to the videos whose processing state changed (for the live events).

The connection is its own, outside the request pool: LISTEN is session state, and a pooled connection
would lose it (or carry it into requests). While it is down the listings cache is off, so a lost
notice can never leave a stale listing in place; it reconnects by itself, and then tells the events
that notices may have been missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import uuid
from collections.abc import Callable
from typing import Protocol

import asyncpg
import msgspec

from anb_common.db.models import OWNER_CHANGES_CHANNEL, VIDEO_EVENTS_CHANNEL

log = logging.getLogger(__name__)

# A half-open TCP connection (a failed-over RDS instance, a dropped NAT entry) delivers nothing and
# reports nothing; a ping every few seconds notices it, and the cache's TTL covers the gap before.
_PING_EVERY_S = 5.0
_PING_TIMEOUT_S = 5.0
_RETRY_AFTER_S = 2.0
APPLICATION_NAME = "anb-gateway-change-feed"
"""How the feed's session shows in pg_stat_activity."""


class Listener(Protocol):
    """What the feed tells (anb_gateway.listings.OwnerListings)."""

    def changed(self, owner: uuid.UUID) -> None: ...
    def clear(self) -> None: ...
    def start_serving(self) -> None: ...
    def stop_serving(self) -> None: ...


class Watcher(Protocol):
    """What the feed tells about videos' processing (anb_gateway.events.VideoEvents)."""

    def video_changed(self, owner: uuid.UUID, video: uuid.UUID) -> None: ...
    def missed(self) -> None: ...


class _VideoNotice(msgspec.Struct):
    """The payload of VIDEO_EVENTS_CHANNEL (migration 0006)."""

    user_id: uuid.UUID
    video_id: uuid.UUID


_decode_video_notice = msgspec.json.Decoder(_VideoNotice).decode


class ChangeFeed:
    def __init__(
        self,
        dsn: str,
        listings: Listener,
        tls: ssl.SSLContext | None = None,
        *,
        events: Watcher | None = None,
    ) -> None:
        self._dsn = dsn
        self._tls = tls
        self._listings = listings
        self._events = events
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="listing-change-feed")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._listings.stop_serving()

    async def _run(self) -> None:
        while True:
            try:
                await self._listen_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("listing change feed lost, listings read from the database: %r", exc)
            finally:
                self._listings.stop_serving()
            await asyncio.sleep(_RETRY_AFTER_S)

    async def _listen_once(self) -> None:
        connection = await asyncpg.connect(
            self._dsn,
            timeout=_PING_TIMEOUT_S,
            server_settings={"application_name": APPLICATION_NAME},
            ssl=self._tls,
        )
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(OWNER_CHANGES_CHANNEL, self._on_notice)
            if self._events is not None:
                await connection.add_listener(VIDEO_EVENTS_CHANNEL, _video_notices(self._events))
                self._events.missed()
            self._listings.start_serving()
            log.info("listing change feed listening")
            while True:
                try:
                    await asyncio.wait_for(lost.wait(), _PING_EVERY_S)
                except TimeoutError:
                    await connection.fetchval("SELECT 1", timeout=_PING_TIMEOUT_S)
                else:
                    raise ConnectionResetError("the listening connection was closed")
        finally:
            connection.terminate()

    def _on_notice(self, _connection: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            self._listings.changed(uuid.UUID(str(payload)))
        except ValueError:
            # Not ours to interpret: forget everything rather than keep something possibly stale.
            self._listings.clear()


def _video_notices(events: Watcher) -> Callable[[object, int, str, object], None]:
    """The LISTEN callback of VIDEO_EVENTS_CHANNEL, telling ``events``."""

    def on_notice(_connection: object, _pid: int, _channel: str, payload: object) -> None:
        try:
            notice = _decode_video_notice(str(payload))
        except msgspec.DecodeError:
            log.warning("video event notice not understood: %r", payload)
            # Whatever it was about, every stream gets the snapshot again.
            events.missed()
        else:
            events.video_changed(notice.user_id, notice.video_id)

    return on_notice
