"""The two HMAC keys the gateway signs with: user access tokens and the internal identity token.

Outside dev mode both come from the environment and must be at least 256 bits (RFC 7518 asks an
HS256 key to be as long as the hash). In dev mode a missing key is generated once and kept under the
devdata folder, in the same file the launcher uses, so that tokens survive restarts and ingest agrees.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from anb_common.settings import SecuritySettings

MIN_KEY_BYTES = 32
_FILE = "secrets.json"


class SigningKeyError(RuntimeError):
    """A key is missing or too short for the mode the gateway runs in."""


@dataclass(frozen=True)
class SigningKeys:
    jwt: str
    internal: str


def _stored(devdata: Path, name: str) -> str:
    path = devdata / _FILE
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if value := stored.get(name):
        return value
    stored[name] = secrets.token_urlsafe(MIN_KEY_BYTES)
    devdata.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(stored, handle)
    return stored[name]


def _resolve(name: str, value: str | None, security: SecuritySettings) -> str:
    if value:
        if len(value.encode()) < MIN_KEY_BYTES:
            raise SigningKeyError(f"ANB_{name.upper()} must be at least {MIN_KEY_BYTES} bytes (256 bits)")
        return value
    if not security.dev_mode:
        raise SigningKeyError(f"ANB_{name.upper()} is required when ANB_DEV_MODE is false; refusing to start")
    return _stored(security.devdata_dir, name)


def load(security: SecuritySettings) -> SigningKeys:
    jwt_secret = security.jwt_secret.get_secret_value() if security.jwt_secret else None
    internal = security.internal_secret.get_secret_value() if security.internal_secret else None
    return SigningKeys(
        jwt=_resolve("jwt_secret", jwt_secret, security),
        internal=_resolve("internal_secret", internal, security),
    )
