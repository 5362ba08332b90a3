"""The CLI's store of unfinished resumable uploads (anb_cli.resume): per API and file digest, private,
expired entries dropped, a damaged file read as empty."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from anb_cli import resume

API = "http://127.0.0.1:8000/api"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "anb" / "uploads.json"


def _pending(digest: str = "d1", expires_at: float = 2e9, api: str = API) -> resume.Pending:
    return resume.Pending(api, digest, f"{api}/uploads/{digest}", 1000, expires_at)


def test_saved_upload_is_found_by_api_and_digest(store: Path) -> None:
    resume.save(_pending(), store)
    assert resume.load(API, "d1", store) == _pending()
    assert resume.load(API, "d2", store) is None
    assert resume.load("http://other/api", "d1", store) is None
    assert resume.load(API + "/", "d1", store) == _pending()  # the same API, spelled with a slash


def test_the_store_is_private(store: Path) -> None:
    resume.save(_pending(), store)
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700


def test_an_expired_upload_is_not_resumed(store: Path) -> None:
    resume.save(_pending(expires_at=1000.0), store)
    assert resume.load(API, "d1", store, now=999.0) is not None
    assert resume.load(API, "d1", store, now=1000.0) is None


def test_sent_only_grows_and_forget_removes(store: Path) -> None:
    pending = _pending().having_sent(700).having_sent(300)
    assert pending.sent == 700
    resume.save(pending, store)
    resume.save(_pending("d2"), store)
    resume.forget(API, "d1", store)
    assert resume.load(API, "d1", store) is None
    assert resume.load(API, "d2", store) is not None


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"uploads": {"k": {"api": 1}}}'])
def test_a_damaged_store_reads_as_empty(store: Path, text: str) -> None:
    store.parent.mkdir(parents=True)
    store.write_text(text)
    assert resume.load(API, "d1", store) is None
    resume.save(_pending(), store)
    assert resume.load(API, "d1", store) == _pending()


def test_digest_is_the_contents_sha256(tmp_path: Path) -> None:
    a, b = tmp_path / "a.mp4", tmp_path / "renamed.mp4"
    a.write_bytes(b"x" * 3_000_000)
    b.write_bytes(b"x" * 3_000_000)
    seen: list[int] = []
    assert resume.digest(a, seen.append) == resume.digest(b)
    assert sum(seen) == 3_000_000
