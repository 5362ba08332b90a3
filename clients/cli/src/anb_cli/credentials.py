"""Access tokens kept in the user's config dir, one per API base URL, readable only by the user.

``$XDG_CONFIG_HOME/anb/credentials.json`` (``~/.config/anb/credentials.json`` when unset): the folder
is 0700 and the file 0600, because a token is as good as the password for its lifetime.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

_FILE_MODE = 0o600
_DIR_MODE = 0o700


@dataclass(frozen=True)
class Credentials:
    api: str
    email: str
    access_token: str
    expires_at: float
    """Unix time after which the gateway refuses the token."""

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME", "").strip()
    # The XDG spec says a relative value is invalid and must be ignored.
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / "anb"


def credentials_path(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / "credentials.json"


def _key(api: str) -> str:
    return api.rstrip("/")


def _read_all(path: Path) -> dict[str, dict[str, object]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        # A damaged file is the same as no login: the user logs in again and it is rewritten.
        return {}
    tokens = data.get("tokens") if isinstance(data, dict) else None
    return {k: v for k, v in tokens.items() if isinstance(v, dict)} if isinstance(tokens, dict) else {}


def load(api: str, path: Path | None = None) -> Credentials | None:
    entry = _read_all(path or credentials_path()).get(_key(api))
    if entry is None:
        return None
    try:
        return Credentials(
            api=str(entry["api"]),
            email=str(entry["email"]),
            access_token=str(entry["access_token"]),
            expires_at=float(str(entry["expires_at"])),
        )
    except (KeyError, ValueError):
        return None


def save(credentials: Credentials, path: Path | None = None) -> Path:
    path = path or credentials_path()
    tokens = _read_all(path)
    tokens[_key(credentials.api)] = asdict(credentials)
    write_private(path, {"tokens": tokens})
    return path


def forget(api: str, path: Path | None = None) -> bool:
    path = path or credentials_path()
    tokens = _read_all(path)
    if tokens.pop(_key(api), None) is None:
        return False
    write_private(path, {"tokens": tokens})
    return True


def write_private(path: Path, data: object) -> None:
    """``data`` as JSON at ``path``, readable by the user only, in a folder only the user enters."""
    path.parent.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)
    # mkdir's mode is masked by the umask and ignored for an existing folder: set it explicitly.
    path.parent.chmod(_DIR_MODE)
    # Written to a private temporary file then renamed, so the token is never readable by others,
    # not even for an instant, and a crash mid-write leaves the previous file intact.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        os.fchmod(fd, _FILE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
