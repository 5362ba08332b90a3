"""Players' live events (``GET /api/videos/events``): every stream of this process, fed by the change feed.

How a change reaches a client: the transcoder commits; PostgreSQL notifies every gateway process on
``VIDEO_EVENTS_CHANNEL`` (migration 0006) over the one connection the change feed keeps
(changes.py), naming the owner and the video. If the owner is watched here, the video is queued;
one task reads everything queued in one query, numbers an event per video (eventlog.py) and hands
its frame to each stream of the owner. No stream holds a database connection: reads are per change
and per process, whatever the number of clients.

Why a client misses nothing and never sees a video go back in time:

- That one task does every read, changes and snapshots alike, and numbers the events in the order it
  read them: in every stream ids increase, and what it says about a video only moves forward.
- A video is read after its notice arrives, so its event shows the change (or a later state).
- A stream is registered before its snapshot is read, and the snapshot is read while the feed
  LISTENs (or again when it starts to): a change committed after that read is heard and sent after.
- When the feed (re)connects, notices may have been missed: every stream gets the snapshot again and
  the log forgets its ids, so that no reconnect resumes across the gap.
- A player stays watched for ``resume_window_s`` after their last stream here closed. A
  ``Last-Event-ID`` resumes only if it was sent while the player has been watched without a break
  (no notice about them was skipped since) and the log still holds it; otherwise the snapshot.

The snapshot is one event per video of the player not yet processed or failed, as the contract says,
plus the videos this process last showed the player as unfinished: a stream that lived through a
gap in the feed learns of the ones that finished meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable

import asyncpg
import msgspec

from anb_common.db.models import VideoStatus
from anb_gateway import wording
from anb_gateway.db import Pool
from anb_gateway.eventlog import EventLog
from anb_gateway.repositories import video_states
from anb_gateway.repositories.video_states import VideoState
from anb_gateway.schemas.events import VideoEvent
from anb_gateway.settings import EventsSettings

log = logging.getLogger(__name__)

KEEPALIVE = b": keepalive\n\n"
CONNECTED = b": connected\n\n"
_FRAME = b"id: %d\nevent: video\ndata: %s\n\n"
# A failed read leaves what it was to read queued; the pool is likely saturated or the database away.
_RETRY_READ_S = 1.0
_FINAL = frozenset({VideoStatus.PROCESSED.value, VideoStatus.FAILED.value})


class Stream:
    """One client's stream: frames waiting to be written, and whether it is over."""

    __slots__ = ("_frames", "_limit", "_ready", "ended", "owner")

    def __init__(self, owner: uuid.UUID, limit: int) -> None:
        self.owner = owner
        self._limit = limit
        self._frames: list[bytes] = []
        self._ready = asyncio.Event()
        self.ended = False

    def send(self, frames: list[bytes]) -> None:
        if self.ended:
            return
        self._frames.extend(frames)
        if len(self._frames) > self._limit:
            # A client that does not read: end it rather than hold its backlog; it resumes on reconnect.
            self._frames.clear()
            self.end()
        else:
            self._ready.set()

    def end(self) -> None:
        self.ended = True
        self._ready.set()

    def take(self) -> list[bytes]:
        frames, self._frames = self._frames, []
        self._ready.clear()
        return frames

    async def wait(self) -> None:
        await self._ready.wait()


def _event_id(header: str | None) -> int | None:
    return int(header) if header is not None and header.isascii() and header.isdigit() else None


def _progress(state: VideoState) -> int | None:
    if state.status == VideoStatus.PROCESSING:
        return max(0, min(100, state.progress))
    return {VideoStatus.UPLOADED: 0, VideoStatus.PROCESSED: 100}.get(VideoStatus(state.status))


def _data(state: VideoState) -> bytes:
    failed = state.status == VideoStatus.FAILED
    event = VideoEvent(
        video_id=state.id,
        status=state.status,
        progress=_progress(state),
        error=wording.processing_failure(state.failure_reason) if failed else None,
        processed_at=state.processed_at if state.status == VideoStatus.PROCESSED else None,
    )
    return msgspec.json.encode(event)


class VideoEvents:
    def __init__(self, settings: EventsSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self._settings = settings
        self._clock = clock
        self._log = EventLog(settings.resume_events)
        self._streams: dict[uuid.UUID, set[Stream]] = {}
        self._watched_from: dict[uuid.UUID, int] = {}
        """Players watched here: the first event id of the watch (a stream open, or closed lately)."""
        self._idle: dict[uuid.UUID, float] = {}
        """Watched players without a stream, with when the watch ends; in that order."""
        self._unfinished: dict[uuid.UUID, set[uuid.UUID]] = {}
        """Per watched player, the videos last shown to them as not yet processed or failed."""
        self._changed: dict[uuid.UUID, uuid.UUID] = {}
        """Videos to read (with their owner), in the order they were heard."""
        self._snapshots: set[Stream] = set()
        self._resync = False
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self, pool: Pool) -> None:
        self._task = asyncio.create_task(self._run(pool), name="video-events")

    async def close(self) -> None:
        self.stop_streams()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    # --- the streams (controllers.events) ---------------------------------------------------------

    async def follow(self, owner: uuid.UUID, last_event_id: str | None) -> AsyncIterator[bytes]:
        """The body of one client's stream: its snapshot (or what it missed), then each change; a
        comment when nothing was sent for ``keepalive_s``. Ends when the server stops or the client
        falls too far behind."""
        stream = self._open(owner, _event_id(last_event_id))
        try:
            # Written once the stream is registered: a client that reads the video's state after this
            # line cannot miss a change (a client may not learn otherwise that a video finished while
            # it was connecting: the snapshot leaves finished videos out).
            yield CONNECTED
            while not stream.ended:
                frames = stream.take()
                if frames:
                    yield b"".join(frames)
                    continue
                try:
                    async with asyncio.timeout(self._settings.keepalive_s):
                        await stream.wait()
                except TimeoutError:
                    yield KEEPALIVE
        finally:
            self._close(stream)

    def _open(self, owner: uuid.UUID, last_event_id: int | None) -> Stream:
        stream = Stream(owner, self._settings.max_pending)
        if self._stopping:
            stream.end()
            return stream
        self._expire()
        self._idle.pop(owner, None)
        watched_from = self._watched_from.setdefault(owner, self._log.next_id)
        self._streams.setdefault(owner, set()).add(stream)
        missed = None
        if last_event_id is not None and last_event_id >= watched_from:
            missed = self._log.since(owner, last_event_id)
        if missed is None:
            self._snapshots.add(stream)
            self._wake.set()
        elif missed:
            stream.send(missed)
        return stream

    def _close(self, stream: Stream) -> None:
        stream.end()
        self._snapshots.discard(stream)
        streams = self._streams.get(stream.owner)
        if streams is None:
            return
        streams.discard(stream)
        if not streams:
            del self._streams[stream.owner]
            self._idle[stream.owner] = self._clock() + self._settings.resume_window_s

    def _expire(self) -> None:
        now = self._clock()
        while self._idle:
            owner, until = next(iter(self._idle.items()))
            if until > now:
                return
            del self._idle[owner]
            del self._watched_from[owner]
            self._unfinished.pop(owner, None)

    def stop_streams(self) -> None:
        """The server is stopping: end every stream, so that clients reconnect to another instance
        instead of holding the stop until its grace period is over; open none any more."""
        self._stopping = True
        for streams in self._streams.values():
            for stream in streams:
                stream.end()

    # --- the change feed (changes.ChangeFeed) -----------------------------------------------------

    def video_changed(self, owner: uuid.UUID, video: uuid.UUID) -> None:
        self._expire()
        if owner in self._watched_from:
            self._changed[video] = owner
            self._wake.set()

    def missed(self) -> None:
        """The feed (re)started listening: what changed before may not have been heard."""
        # Done by the reading task, between two reads: a read already under way may predate the gap,
        # so its events must be forgotten too.
        self._resync = True
        self._wake.set()

    # --- reading and sending ----------------------------------------------------------------------

    async def _run(self, pool: Pool) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._resync:
                self._resync = False
                self._log.forget()
                for streams in self._streams.values():
                    self._snapshots.update(streams)
            changed, self._changed = self._changed, {}
            waiting, self._snapshots = self._snapshots, set()
            try:
                await self._read_and_send(pool, changed, waiting)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
                log.warning("video events not read, retrying: %r", exc)
                # Put back in front of what was heard meanwhile: reads keep their order.
                self._changed = {**changed, **self._changed}
                self._snapshots |= waiting
                await asyncio.sleep(_RETRY_READ_S)
                self._wake.set()

    async def _read_and_send(
        self, pool: Pool, changed: dict[uuid.UUID, uuid.UUID], waiting: set[Stream]
    ) -> None:
        # Both reads first, then every send with no await in between: a stream opened or closed
        # meanwhile sees all of one read or none of it.
        states = await video_states.of_videos(pool, list(changed)) if changed else []
        owners = sorted({stream.owner for stream in waiting if not stream.ended})
        shown = [video for owner in owners for video in self._unfinished.get(owner, ())]
        snapshot = await video_states.snapshot(pool, owners, shown) if owners else []
        for video in changed.keys() - {state.id for state in states}:
            # Deleted before it was read: nothing left to show.
            self._unfinished.get(changed[video], set()).discard(video)
        for state in states:
            if state.user_id in self._watched_from:
                frame = self._announce(state)
                for stream in self._streams.get(state.user_id, ()):
                    stream.send([frame])
        self._send_snapshots(snapshot, waiting)

    def _send_snapshots(self, states: Iterable[VideoState], waiting: set[Stream]) -> None:
        frames: dict[uuid.UUID, list[bytes]] = {}
        for state in states:
            if state.user_id in self._watched_from:
                frames.setdefault(state.user_id, []).append(self._announce(state))
        for stream in waiting:
            if stream.owner in frames:
                stream.send(frames[stream.owner])

    def _announce(self, state: VideoState) -> bytes:
        """The event of ``state``, numbered and kept; the owner's unfinished videos follow it."""
        data = _data(state)
        unfinished = self._unfinished.setdefault(state.user_id, set())
        if state.status in _FINAL:
            unfinished.discard(state.id)
        else:
            unfinished.add(state.id)
        return self._log.add(
            state.user_id, lambda event_id: b"id: %d\nevent: video\ndata: %s\n\n" % (event_id, data)
        )
