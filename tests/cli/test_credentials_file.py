"""Tokens in $XDG_CONFIG_HOME/anb/credentials.json: private permissions, one per API, robust reads."""

from __future__ import annotations

import stat
from pathlib import Path

from anb_cli import credentials
from anb_cli.credentials import Credentials


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_config_dir_follows_xdg_config_home(tmp_path: Path) -> None:
    assert credentials.config_dir({"XDG_CONFIG_HOME": str(tmp_path)}) == tmp_path / "anb"


def test_config_dir_defaults_to_dot_config_and_ignores_relative_xdg() -> None:
    default = Path.home() / ".config" / "anb"
    assert credentials.config_dir({}) == default
    assert credentials.config_dir({"XDG_CONFIG_HOME": "relative/dir"}) == default


def test_saved_file_is_0600_in_a_0700_folder_even_if_the_folder_was_open(tmp_path: Path) -> None:
    folder = tmp_path / "anb"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    path = folder / "credentials.json"

    credentials.save(Credentials("http://h/api", "a@b.co", "tok", 1e12), path)

    assert _mode(path) == 0o600
    assert _mode(folder) == 0o700
    assert not [p for p in folder.iterdir() if p.name != "credentials.json"], "temporary file left behind"


def test_one_token_per_api_and_trailing_slash_is_the_same_api(tmp_path: Path) -> None:
    path = tmp_path / "anb" / "credentials.json"
    local = Credentials("http://127.0.0.1:8000/api", "a@b.co", "local", 1e12)
    remote = Credentials("https://anb.example/api", "a@b.co", "remote", 1e12)
    credentials.save(local, path)
    credentials.save(remote, path)

    assert credentials.load("http://127.0.0.1:8000/api/", path) == local
    assert credentials.load("https://anb.example/api", path) == remote
    assert credentials.load("http://other/api", path) is None

    assert credentials.forget("http://127.0.0.1:8000/api", path)
    assert credentials.load("http://127.0.0.1:8000/api", path) is None
    assert credentials.load("https://anb.example/api", path) == remote
    assert not credentials.forget("http://127.0.0.1:8000/api", path)


def test_damaged_or_missing_file_means_not_logged_in(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    assert credentials.load("http://h/api", path) is None
    path.write_text("{not json")
    assert credentials.load("http://h/api", path) is None
    path.write_text('{"tokens": {"http://h/api": {"api": "http://h/api"}}}')
    assert credentials.load("http://h/api", path) is None


def test_expiry() -> None:
    token = Credentials("http://h/api", "a@b.co", "t", expires_at=100.0)
    assert not token.expired(now=99.0)
    assert token.expired(now=100.0)
