"""Per-job working folders under the temp dir, named ``job-<pid>-<video_id>-<n>``.

The pid in the name lets a starting worker remove what a killed worker of this host left behind
(job folders and its ``brand-<pid>`` cache) without touching the folders of workers that still run
(several share the temp dir).
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from anb_common.processes import alive, owner_pid

log = logging.getLogger(__name__)

_PREFIX = "job-"
_OWNED_PREFIXES = (_PREFIX, "brand-")
_counter = itertools.count(1)


@contextmanager
def job_folder(temp_dir: Path, video_id: uuid.UUID) -> Iterator[Path]:
    """A fresh folder for one job, removed on the way out whatever happened inside."""
    temp_dir.mkdir(parents=True, exist_ok=True)
    path = temp_dir / f"{_PREFIX}{os.getpid()}-{video_id}-{next(_counter)}"
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def check_writable(temp_dir: Path) -> None:
    """Raise OSError unless a job folder can be made here now (disk full, read-only, not a folder)."""
    probe = temp_dir / f"{_PREFIX}{os.getpid()}-probe"
    temp_dir.mkdir(parents=True, exist_ok=True)
    probe.mkdir(exist_ok=True)
    probe.rmdir()


def remove_stale(temp_dir: Path) -> int:
    """Remove job folders whose worker process is gone; returns how many were removed."""
    if not temp_dir.is_dir():
        return 0
    removed = 0
    for path in temp_dir.iterdir():
        pid = _owner(path.name)
        if pid is None or pid == os.getpid() or alive(pid):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
        log.info("removed a stale job folder", extra={"folder": path.name})
    return removed


def _owner(name: str) -> int | None:
    """The pid in a folder name of ours, or None for anything else (never removed)."""
    for prefix in _OWNED_PREFIXES:
        pid = owner_pid(name, prefix)
        if pid is not None:
            return pid
    return None
