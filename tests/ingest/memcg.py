"""A memory cgroup of the test's own, to run a service under the limit its systemd unit sets
(``MemoryMax=``): the whole process tree is charged, as systemd charges the unit.

This uses cgroup v1's memory controller, as the machines the suite runs on mount it (cgroup v2 there
has no memory controller delegated). Where there is none to write, the tests that need it skip.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

_V1_ROOT = Path("/sys/fs/cgroup/memory")
_UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def unit_memory_max(unit: Path) -> int:
    """The ``MemoryMax=`` of a systemd unit file, in bytes (systemd's suffixes are powers of 1024)."""
    found = re.search(r"^MemoryMax=(\d+)([KMGT]?)\s*$", unit.read_text(), re.MULTILINE)
    if found is None:
        raise LookupError(f"{unit} sets no MemoryMax=")
    return int(found[1]) * _UNITS.get(found[2], 1)


@dataclass(frozen=True)
class MemoryCgroup:
    path: Path

    def enter(self) -> None:
        """Move the calling process in (a ``preexec_fn``: its children follow it)."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def limit(self) -> int:
        return int((self.path / "memory.limit_in_bytes").read_text())

    def usage(self) -> int:
        return int((self.path / "memory.usage_in_bytes").read_text())

    def peak(self) -> int:
        return int((self.path / "memory.max_usage_in_bytes").read_text())

    def reset_peak(self) -> None:
        """From now on, ``peak`` is the highest usage since this call."""
        (self.path / "memory.max_usage_in_bytes").write_text("0")

    def oom_kills(self) -> int:
        found = re.search(r"^oom_kill (\d+)$", (self.path / "memory.oom_control").read_text(), re.MULTILINE)
        return int(found[1]) if found else 0


def _own_v1_memory_cgroup() -> Path | None:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return _V1_ROOT / path.lstrip("/")
    return None


@contextmanager
def memory_cgroup(limit_bytes: int) -> Iterator[MemoryCgroup]:
    """A new memory cgroup below this process's own, limited to ``limit_bytes`` (no swap either),
    removed afterwards once its processes are gone. Skips the test where none can be made."""
    parent = _own_v1_memory_cgroup()
    if parent is None or not parent.is_dir():
        pytest.skip("no cgroup v1 memory controller to run the service under a memory limit")
    path = parent / f"anb-test-{uuid.uuid4().hex[:8]}"
    try:
        path.mkdir()
        (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
    except OSError as exc:
        pytest.skip(f"cannot make a memory cgroup here: {exc}")
    try:
        yield MemoryCgroup(path)
    finally:
        # A service's children (the probe fork server) leave shortly after it: wait, then remove.
        deadline = time.monotonic() + 30
        while (path / "cgroup.procs").read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.1)
        path.rmdir()
