"""The ``anb`` CLI run as a player runs it: a process of its own, with its own config folder (where
it keeps its login per API address and the uploads it may resume)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

ANB = str(Path(sys.executable).with_name("anb"))
PASSWORD = "Cancha-2026-segura"


def anb(api: str, config: Path, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANB_API_URL": api, "XDG_CONFIG_HOME": str(config), "COLUMNS": "250"}
    return subprocess.run([ANB, *argv], env=env, capture_output=True, text=True, timeout=timeout, check=False)


def sign_up(api: str, config: Path, first_name: str, last_name: str) -> str:
    """A new player, logged in at ``api``; their email (the password is ``PASSWORD``)."""
    email = f"{first_name.lower()}.{uuid.uuid4().hex[:10]}@example.com"
    signup = (
        "signup", "--first-name", first_name, "--last-name", last_name, "--email", email,
        "--city", "Cali", "--country", "Colombia", "--password", PASSWORD,
    )  # fmt: skip
    created = anb(api, config, *signup)
    assert created.returncode == 0, created.stdout + created.stderr
    return email


def log_in(api: str, config: Path, email: str) -> None:
    """Log in at ``api`` too (the CLI keeps a login per API address)."""
    logged = anb(api, config, "login", "--email", email, "--password", PASSWORD)
    assert logged.returncode == 0, logged.stdout + logged.stderr
