"""Server-sent events read line by line, as the HTML standard's event stream interpretation says.

Written here rather than taken from httpx-sse: that one hands out events only, and the follower
needs the comments too (the gateway's ``: connected`` once the stream is registered, and a
``: keepalive`` at least every 15 s, which is when a wait checks its deadline).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    event: str
    data: str
    id: str | None
    """The stream's last event id when this event came (kept from earlier events when it has none)."""


@dataclass(frozen=True)
class Comment:
    text: str


class Decoder:
    """Feed it the stream's lines (without their line ends); it answers what each completes."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._last_id: str | None = None

    def feed(self, line: str) -> Event | Comment | None:
        if not line:
            # A blank line dispatches the event gathered so far; without data there is none.
            event, data = self._event, self._data
            self._event, self._data = "", []
            return Event(event or "message", "\n".join(data), self._last_id) if data else None
        if line.startswith(":"):
            return Comment(line[1:].strip())
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        elif field == "id" and "\0" not in value:
            self._last_id = value
        # "retry" and unknown fields: nothing to do for a client that reconnects on its own terms.
        return None
