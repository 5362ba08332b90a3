"""An embedded PostgreSQL 16 from the ``pgserver`` wheel, listening on 127.0.0.1:<port>.

We drive the wheel's binaries ourselves (rather than ``pgserver.get_server``) to listen on TCP, the
way RDS is reached in production, and to stop and restart the server in fault-injection tests.
PostgreSQL's own output goes to a log file beside the data directory; a failed start quotes its end.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from anb_devstack.errors import StartError


def _pgserver_bin() -> Path:
    # Located without importing pgserver: its __init__ sets up runtime folders we do not use.
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the pgserver package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


POSTGRES_BIN_PATH = _pgserver_bin()

# PostgreSQL refuses to run as root; under root we run it as this user (pgserver's own convention).
_SYSTEM_USER = "pgserver"
# Lines of PostgreSQL's log quoted when it fails to start: enough for the FATAL line and its context.
_LOG_TAIL_LINES = 15


def _run_as(say: Callable[[str], None]) -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(_SYSTEM_USER)
    except KeyError:
        say(f"PostgreSQL refuses to run as root: adding the system user {_SYSTEM_USER} to run it")
        added = subprocess.run(
            ["useradd", "--system", "--no-create-home", _SYSTEM_USER], capture_output=True, text=True
        )
        if added.returncode != 0:
            raise StartError(f"useradd {_SYSTEM_USER} failed: {added.stderr.strip()}") from None
    return _SYSTEM_USER


def _open_path_to(path: Path, say: Callable[[str], None]) -> None:
    """Let the server's user traverse every parent folder of ``path`` (its data directory, and the
    binaries inside the virtualenv: a checkout under ``mktemp -d`` is 0700), saying which folders
    change: some may lie outside the project (a home folder is often 0700)."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        if mode & 0o001 == 0:
            parent.chmod(mode | 0o001)
            say(
                f"{_SYSTEM_USER} may now pass through {parent} "
                f"(mode {mode & 0o777:o} -> {(mode | 0o001) & 0o777:o}) to reach PostgreSQL's files"
            )


class EmbeddedPostgres:
    def __init__(
        self, datadir: Path, port: int, database: str = "anb", say: Callable[[str], None] = print
    ) -> None:
        self.datadir = datadir.resolve()
        self.port = port
        self.database = database
        self.log = self.datadir.with_name(f"{self.datadir.name}.log")
        self._say = say
        self._process: subprocess.Popen[bytes] | None = None

    @functools.cached_property
    def _user(self) -> str | None:
        """Under root, the user the server runs as; prepared on first use, inside init() or start(),
        so that a failure there is reported like any other failure to start."""
        user = _run_as(self._say)
        if user:
            _open_path_to(POSTGRES_BIN_PATH, self._say)
        return user

    @property
    def _extra_groups(self) -> list[int] | None:
        # With the user's own group and none of root's, so that only "others" permissions apply to it.
        return [] if self._user else None

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{self.database}"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def _tail(self) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(f"    {line}" for line in lines[-_LOG_TAIL_LINES:])

    def _failed(self, what: str) -> StartError:
        return StartError(f"{what}; the end of {self.log}:\n{self._tail()}")

    def init(self, fresh: bool = True) -> None:
        if fresh:
            if self.datadir.exists():
                shutil.rmtree(self.datadir)
            self.log.unlink(missing_ok=True)
        if (self.datadir / "PG_VERSION").exists():
            return
        self.datadir.mkdir(parents=True, exist_ok=True)
        if self._user:
            shutil.chown(self.datadir, self._user)
            _open_path_to(self.datadir.parent, self._say)
        with self.log.open("ab") as log:
            initdb = subprocess.run(
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
                check=False,
                user=self._user,
                group=self._user,
                extra_groups=self._extra_groups,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        if initdb.returncode != 0:
            raise self._failed(f"initdb exited with {initdb.returncode}")

    def start(self, timeout_s: float = 30.0) -> None:
        if self._user:
            # Again: the path may have closed since init() (pytest resets its 0700 temporary root).
            _open_path_to(self.datadir.parent, self._say)
        with self.log.open("ab") as log:
            self._process = self._spawn(log)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise self._failed(f"PostgreSQL exited with {self._process.returncode} while starting")
            if self._accepts_queries():
                break
            time.sleep(0.1)
        else:
            raise self._failed(f"PostgreSQL did not accept queries within {timeout_s:.0f} s")
        self._ensure_database()

    def _spawn(self, log: IO[bytes]) -> subprocess.Popen[bytes]:
        # A process group of its own: a Ctrl-C in the terminal reaches the launcher only, which stops
        # the database after everything that uses it.
        return subprocess.Popen(
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
            group=self._user,
            extra_groups=self._extra_groups,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            process_group=0,
        )

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
