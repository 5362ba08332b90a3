"""The two HMAC keys: user access tokens (gateway) and the internal identity token (gateway, ingest).

Outside dev mode each key comes from the environment and must be at least 256 bits (RFC 7518 asks
an HS256 key to be as long as the hash). In dev mode a missing key is generated once and kept in
``<devdata>/secrets.json``, one file for every process of the embedded platform, so that tokens
survive restarts and the gateway and ingest agree without anyone setting a variable.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pydantic import SecretStr

from anb_common.settings import SecuritySettings

MIN_KEY_BYTES = 32
DEV_SECRETS_FILE = "secrets.json"
JWT = "jwt_secret"
INTERNAL = "internal_secret"


class SigningKeyError(RuntimeError):
    """A key is missing or too short for the mode the service runs in."""


def dev_keys(devdata: Path) -> dict[str, str]:
    """Both dev-mode keys, generated on first use and kept (0600) under ``devdata``."""
    path = devdata / DEV_SECRETS_FILE
    stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if all(stored.get(name) for name in (JWT, INTERNAL)):
        return stored
    fresh = {name: stored.get(name) or secrets.token_urlsafe(MIN_KEY_BYTES) for name in (JWT, INTERNAL)}
    devdata.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(fresh, handle)
    return fresh


def _resolve(name: str, configured: SecretStr | None, security: SecuritySettings) -> str:
    value = configured.get_secret_value() if configured else ""
    if value:
        if len(value.encode()) < MIN_KEY_BYTES:
            raise SigningKeyError(f"ANB_{name.upper()} must be at least {MIN_KEY_BYTES} bytes (256 bits)")
        return value
    if not security.dev_mode:
        raise SigningKeyError(f"ANB_{name.upper()} is required when ANB_DEV_MODE is false; refusing to start")
    return dev_keys(security.devdata_dir)[name]


def jwt_key(security: SecuritySettings) -> str:
    """The key user access tokens are signed with."""
    return _resolve(JWT, security.jwt_secret, security)


def internal_key(security: SecuritySettings) -> str:
    """The key of the gateway-to-ingest identity token."""
    return _resolve(INTERNAL, security.internal_secret, security)
