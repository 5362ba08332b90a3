"""``anb upload --wait`` on a video whose processing fails: the API's reason is printed and the exit
code is 1. The platform only fails a job on inputs that are hard to make on purpose, so a small
stand-in API (stdlib http.server) plays the gateway's part for this one path."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from anb_cli import credentials
from anb_cli.main import app

VIDEO_ID = "1f0e2d3c-4b5a-4697-8877-665544332211"
REASON = "El video está dañado a partir del segundo 4 y no se pudo procesar."


class _Gateway(BaseHTTPRequestHandler):
    polls = 0
    received = 0

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _json(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.startswith("/api/videos?"):
            self._json(200, [])
        elif self.path == f"/api/videos/{VIDEO_ID}":
            type(self).polls += 1
            if type(self).polls == 1:
                self._json(200, {"video_id": VIDEO_ID, "status": "processing", "progress": 40})
            else:
                self._json(200, {"video_id": VIDEO_ID, "status": "failed", "error": REASON})
        else:
            self._json(404, {"status_code": 404, "detail": "no"})

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received = len(self.rfile.read(length))
        self._json(202, {"message": "Video subido correctamente. Procesamiento en curso.",
                         "task_id": VIDEO_ID, "video_id": VIDEO_ID})  # fmt: skip


@pytest.fixture
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def test_failed_processing_prints_the_reason_and_exits_1(
    api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    credentials.save(credentials.Credentials(api, "ana@example.com", "token", 1e12))
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\x00" * 300_000)

    result = CliRunner().invoke(app, ["--api", api, "upload", str(clip), "--title", "x", "--wait"])

    assert result.exit_code == 1
    assert f"processing failed: {REASON}" in " ".join(result.output.split())
    assert _Gateway.received > 300_000
