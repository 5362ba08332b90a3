"""A stand-in for ingest's network side: a real HTTP server that records what the gateway sent it.

Only for the gateway's proxy tests (what arrives, in how many chunks, with which headers, a relay
slot held open); the real ingest is behind the gateway in test_real_ingest.py and the e2e tests. It
never parses the form: it counts bytes and answers as told, in ingest's own formats (anb_ingest.app):
a video id when it accepts, a code with values when it refuses, Litestar's body when it fails.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from anb_common import ingest_api
from anb_common.reasons import Reason
from anb_devstack.moto import free_port
from anb_ingest.app import ACCEPTED_MESSAGE


@dataclass
class Received:
    headers: dict[str, str]
    size: int
    chunks: int


@dataclass
class StandInIngest:
    port: int = field(default_factory=free_port)
    reply_status: int = 202
    reply_body: bytes = b"{}"
    received: list[Received] = field(default_factory=list)
    first_chunk: threading.Event = field(default_factory=threading.Event)
    """Set as soon as the first body chunk arrives: proof that the gateway does not buffer."""
    stuck: bool = False
    """Read no body at all, as an ingest stuck on its storage would (the gateway's writes then wait)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        while self.stuck:
            await asyncio.sleep(0.05)
        size = chunks = 0
        while True:
            message = await receive()
            if message.get("body"):
                size += len(message["body"])
                chunks += 1
                self.first_chunk.set()
            if not message.get("more_body"):
                break
        self.received.append(Received(headers, size, chunks))
        body = self.reply_body
        await send(
            {
                "type": "http.response.start",
                "status": self.reply_status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def accept(self, video_id: uuid.UUID) -> None:
        """Answer the next uploads as ingest does when it takes one."""
        self._reply(202, ingest_api.encode(ingest_api.UploadAccepted(ACCEPTED_MESSAGE, video_id, video_id)))

    def refuse(self, status: int, reason: Reason) -> None:
        """Answer the next uploads as ingest refuses: the code and its values, no prose."""
        self._reply(status, ingest_api.encode(ingest_api.UploadRefusal.of(status, reason)))

    def fail(self) -> None:
        """Answer the next uploads as ingest does on a bug of its own (Litestar's 500)."""
        self._reply(500, b'{"status_code": 500, "detail": "Internal Server Error"}')

    def _reply(self, status: int, body: bytes) -> None:
        self.reply_status, self.reply_body = status, body
        self.first_chunk.clear()


class Serving:
    """Runs an ASGI app under uvicorn in a background thread with its own event loop."""

    def __init__(self, app: Any, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self.server.serve()), daemon=True)

    def __enter__(self) -> Serving:
        self._thread.start()
        for _ in range(500):
            if self.server.started:
                return self
            threading.Event().wait(0.02)
        raise RuntimeError("the stand-in server did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=10)
