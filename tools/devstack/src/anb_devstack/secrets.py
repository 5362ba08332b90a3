"""Dev-mode secrets: generated once, kept under .devdata/ (git-ignored) so tokens survive restarts."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

_NAMES = ("jwt_secret", "internal_secret")


def load_or_create(devdata: Path) -> dict[str, str]:
    path = devdata / "secrets.json"
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if all(stored.get(name) for name in _NAMES):
        return stored
    # 32 random bytes = 256 bits, the HS256 key size RFC 7518 asks for.
    fresh = {name: stored.get(name) or secrets.token_urlsafe(32) for name in _NAMES}
    devdata.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(fresh, handle)
    return fresh
