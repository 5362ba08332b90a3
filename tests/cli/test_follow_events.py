"""``anb show --follow`` follows ``GET /api/videos/events`` instead of polling: it reads the detail once
per connection (after ``: connected``) and at the end, ignores other videos' events, and when the
stream breaks it reconnects with the Last-Event-ID it last received. A stand-in API (stdlib
http.server) plays the gateway, so that the break comes exactly where the test wants it; the real
gateway is followed in tests/e2e/test_events_cli.py. (A server without events, 404, is polled:
tests/cli/test_upload_wait_failed.py.)"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from typer.testing import CliRunner

from anb_cli import credentials
from anb_cli.api import Client
from anb_cli.main import app

VIDEO_ID = "5e0c7a8b-2d4f-4a61-9b3e-7c8d9e0f1a2b"
OTHER_ID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def frame(event_id: int, video_id: str, status: str, progress: int | None) -> bytes:
    data = {"video_id": video_id, "status": status, "progress": progress, "error": None, "processed_at": None}
    return f"id: {event_id}\nevent: video\ndata: {json.dumps(data)}\n\n".encode()


class _Gateway(BaseHTTPRequestHandler):
    """Set back to its start for each test by the ``api`` fixture."""

    state: ClassVar[dict[str, object]] = {}
    details = 0
    last_event_ids: ClassVar[list[str | None]] = []

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.path == "/api/videos/events":
            self._events()
        elif self.path == f"/api/videos/{VIDEO_ID}":
            type(self).details += 1
            body = json.dumps({"video_id": VIDEO_ID, "title": "Bandeja", **type(self).state}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self.send_error(404)

    def _events(self) -> None:
        type(self).last_event_ids.append(self.headers.get("Last-Event-ID"))
        first = len(type(self).last_event_ids) == 1
        if not first:
            # It finished while the client was away: only the detail read after ": connected" tells.
            type(self).state = {"status": "processed", "progress": 100}
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b": connected\n\n")
        if first:
            # Another video's event, then ours; then the stream breaks (a gateway restarting).
            self.wfile.write(frame(7, OTHER_ID, "processed", 100) + frame(8, VIDEO_ID, "processing", 40))


@pytest.fixture
def api() -> Iterator[str]:
    _Gateway.state = {"status": "processing", "progress": 10}
    _Gateway.details = 0
    _Gateway.last_event_ids = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def test_wait_follows_the_events_and_resumes_after_a_break(api: str) -> None:
    seen: list[tuple[object, object]] = []
    with Client(api, "token") as client:
        final = client.wait(VIDEO_ID, lambda video: seen.append((video["status"], video["progress"])))

    # The detail on connecting, our event (not the other video's), the detail on reconnecting.
    assert seen == [("processing", 10), ("processing", 40), ("processed", 100)]
    assert final["status"] == "processed"
    assert _Gateway.last_event_ids == [None, "8"]
    # Once per connection and once at the end: no polling.
    assert _Gateway.details == 3


def test_show_follow_prints_the_video_once_processed(
    api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    credentials.save(credentials.Credentials(api, "ana@example.com", "token", 1e12))

    result = CliRunner().invoke(app, ["--api", api, "show", VIDEO_ID, "--follow"])

    assert result.exit_code == 0, result.output
    assert "status processed" in " ".join(result.output.split())
