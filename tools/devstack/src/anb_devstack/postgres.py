"""An embedded PostgreSQL 16 from the ``pgserver`` wheel, listening on 127.0.0.1:<port>.

We drive the wheel's binaries ourselves (rather than ``pgserver.get_server``) to listen on TCP, the
way RDS is reached in production, and to stop and restart the server in fault-injection tests.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path


def _pgserver_bin() -> Path:
    # Located without importing pgserver: its __init__ sets up runtime folders we do not use.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pgserver package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_BIN_PATH = _pgserver_bin()

# PostgreSQL refuses to run as root; under root we run it as this user (pgserver's own convention).
_SYSTEM_USER = "pgserver"


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", _SYSTEM_USER], check=True)
    return _SYSTEM_USER


def _open_path_to(path: Path) -> None:
    """Let the server's user traverse every parent folder of ``path`` (its data directory, and the
    binaries inside the virtualenv: a checkout under ``mktemp -d`` is 0700)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if mode & 0o001 == 0:
            parent.chmod(mode | 0o011)


class EmbeddedPostgres:
    def __init__(self, datadir: Path, port: int, database: str = "anb") -> None:
        self.datadir = datadir.resolve()
        self.port = port
        self.database = database
        self._user = _run_as()
        if self._user:
            _open_path_to(POSTGRES_BIN_PATH)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{self.database}"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def init(self, fresh: bool = True) -> None:
        if fresh and self.datadir.exists():
            shutil.rmtree(self.datadir)
        if (self.datadir / "PG_VERSION").exists():
            return
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self._user:
            shutil.chown(self.datadir, self._user)
            _open_path_to(self.datadir.parent)
        subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            check=True,
            user=self._user,
            stdout=subprocess.DEVNULL,
        )

    def start(self, timeout_s: float = 30.0) -> None:
        self._process = subprocess.Popen(
            [
                str(POSTGRES_BIN_PATH / "postgres"),
                "-D",
                str(self.datadir),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-k",
                str(self.datadir),
                "-c",
                "max_connections=300",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "synchronous_commit=off",
            ],
            user=self._user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self._process.returncode}")
            if self._accepts_queries():
                break
            time.sleep(0.1)
        else:
            raise TimeoutError("embedded PostgreSQL did not start in time")
        self._ensure_database()

    def _psql(self, sql: str, database: str = "postgres") -> str:
        return subprocess.run(
            [
                str(POSTGRES_BIN_PATH / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                database,
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    def _accepts_queries(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                pass
            self._psql("SELECT 1")
        except (OSError, subprocess.CalledProcessError):
            return False
        return True

    def _ensure_database(self) -> None:
        # The name is our own constant (never user input), so plain interpolation is safe here.
        exists = f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'"  # noqa: S608
        if self._psql(exists) != "1":
            self._psql(f'CREATE DATABASE "{self.database}"')

    def stop(self, timeout_s: float = 30.0) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        # SIGINT is PostgreSQL's "fast shutdown": roll back open transactions and exit cleanly.
        self._process.send_signal(2)
        try:
            self._process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()
