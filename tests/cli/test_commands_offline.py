"""Commands that must fail cleanly before or without reaching an API."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from anb_cli.main import app


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("ANB_API_URL", raising=False)
    return CliRunner()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_commands_needing_a_token_say_to_log_in(runner: CliRunner) -> None:
    commands = (
        ["ls"],
        ["show", "x"],
        ["publish", "x"],
        ["vote", "x"],
        ["delete", "-y", "x"],
        ["poster", "x", "--at", "1"],
    )
    for argv in commands:
        result = runner.invoke(app, argv)
        assert result.exit_code == 1, argv
        assert "anb login" in result.output, argv


def test_unreachable_api_is_reported_plainly(runner: CliRunner) -> None:
    api = f"http://127.0.0.1:{_closed_port()}/api"
    result = runner.invoke(app, ["--api", api, "rankings"])
    assert result.exit_code == 1
    assert f"cannot reach the ANB API at {api}" in result.output
    assert "Traceback" not in result.output


def test_api_url_comes_from_the_environment(runner: CliRunner) -> None:
    api = f"http://127.0.0.1:{_closed_port()}/api"
    result = runner.invoke(app, ["login", "--email", "a@b.co", "--password", "x"], env={"ANB_API_URL": api})
    assert result.exit_code == 1
    assert api in result.output


def test_upload_refuses_a_missing_file(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["upload", "nope.mp4", "--title", "x"])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_upload_checks_the_title_before_sending(runner: CliRunner, tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not sent")
    for title in ("", "x" * 201):
        result = runner.invoke(app, ["upload", str(clip), "--title", title])
        assert result.exit_code == 2, title
        assert "1 to 200 characters" in result.output


def test_a_server_that_is_not_the_api_is_reported(runner: CliRunner, tmp_path: Path) -> None:
    page = tmp_path / "site"
    (page / "public").mkdir(parents=True)
    (page / "public" / "rankings").write_text("<p>[red]not the API[/red]</p>")
    port = _closed_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(page)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "http.server did not start"
                time.sleep(0.1)
        result = runner.invoke(app, ["--api", f"http://127.0.0.1:{port}", "rankings"])
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert result.exit_code == 1
    assert "did not answer JSON" in result.output
    assert "[red]not the API[/red]" in " ".join(result.output.split()), "text printed as markup"
