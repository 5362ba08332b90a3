"""Where ``anb upload`` keeps the resumable uploads it started, so that running it again on the same
file continues instead of starting over.

``$XDG_CONFIG_HOME/anb/uploads.json`` (beside the credentials, same private folder and file modes):
one entry per API and file digest (SHA-256 of the content, so a renamed or moved copy resumes too,
and an edited file does not), with the upload's URL, its expiry (the server's ``Upload-Expires``;
an expired entry is dropped when read) and how many bytes this client had sent when it stopped,
from which the next run tells how many it sends twice.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from anb_cli import credentials

_HASH_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Pending:
    """One upload this client started and has not finished."""

    api: str
    digest: str
    url: str
    length: int
    expires_at: float
    """Unix time the server gave as ``Upload-Expires``."""
    sent: int = 0
    """Bytes of the file this client had sent when it last stopped (stored or not)."""

    def having_sent(self, sent: int) -> Pending:
        return replace(self, sent=max(self.sent, sent))


def uploads_path() -> Path:
    return credentials.config_dir() / "uploads.json"


def digest(path: Path, progress: Callable[[int], None] | None = None) -> str:
    """SHA-256 of the file's content, read once in 1 MiB steps."""
    sha256 = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(_HASH_CHUNK):
            sha256.update(chunk)
            if progress is not None:
                progress(len(chunk))
    return sha256.hexdigest()


def _key(api: str, file_digest: str) -> str:
    return f"{api.rstrip('/')} {file_digest}"


def _read_all(path: Path, now: float) -> dict[str, Pending]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["uploads"]
        found = {key: Pending(**entry) for key, entry in entries.items()}
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        # A damaged file only costs a fresh upload.
        return {}
    return {key: entry for key, entry in found.items() if entry.expires_at > now}


def load(api: str, file_digest: str, path: Path | None = None, now: float | None = None) -> Pending | None:
    """The unexpired upload of this file on this API, if one was started."""
    moment = time.time() if now is None else now
    return _read_all(path or uploads_path(), moment).get(_key(api, file_digest))


def save(pending: Pending, path: Path | None = None) -> None:
    path = path or uploads_path()
    entries = _read_all(path, time.time())
    entries[_key(pending.api, pending.digest)] = pending
    _write(path, entries)


def forget(api: str, file_digest: str, path: Path | None = None) -> None:
    path = path or uploads_path()
    entries = _read_all(path, time.time())
    if entries.pop(_key(api, file_digest), None) is not None:
        _write(path, entries)


def _write(path: Path, entries: dict[str, Pending]) -> None:
    # An upload URL lets whoever holds the token resume or cancel it: as private as the token.
    credentials.write_private(path, {"uploads": {key: asdict(entry) for key, entry in entries.items()}})
