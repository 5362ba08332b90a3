"""Job folders: removed whatever happens; stale ones of dead workers removed, live ones kept."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from anb_transcoder.workdir import job_folder, remove_stale


def _failing_job(temp_dir: Path) -> None:
    with job_folder(temp_dir, uuid.uuid4()) as folder:
        (folder / "partial.mp4").write_bytes(b"x" * 1000)
        raise RuntimeError("boom")


def test_job_folder_is_removed_even_when_the_job_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        _failing_job(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_job_folders_of_one_process_are_distinct(tmp_path: Path) -> None:
    video_id = uuid.uuid4()
    with job_folder(tmp_path, video_id) as first, job_folder(tmp_path, video_id) as second:
        assert first != second
        assert first.name.startswith(f"job-{os.getpid()}-{video_id}-")


def test_remove_stale_takes_only_folders_of_dead_processes(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        names = [
            f"job-{dead.pid}-{uuid.uuid4()}-1",
            f"brand-{dead.pid}",
            f"job-{alive.pid}-{uuid.uuid4()}-1",
            f"brand-{alive.pid}",
            f"job-{os.getpid()}-{uuid.uuid4()}-1",
            "someone-elses-folder",
        ]
        for name in names:
            (tmp_path / name).mkdir()
        assert remove_stale(tmp_path) == 2
        assert sorted(path.name for path in tmp_path.iterdir()) == sorted(names[2:])
    finally:
        alive.kill()
        alive.wait()


def test_remove_stale_takes_the_folders_of_a_killed_worker_not_yet_reaped(tmp_path: Path) -> None:
    """A SIGKILLed worker stays a zombie until its parent reaps it; its pid still answers kill(0)."""
    worker = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        worker.kill()
        # Exited but not reaped (WNOWAIT leaves it a zombie); waitid blocks until it has exited.
        os.waitid(os.P_PID, worker.pid, os.WEXITED | os.WNOWAIT)
        (tmp_path / f"job-{worker.pid}-{uuid.uuid4()}-1").mkdir()
        (tmp_path / f"brand-{worker.pid}").mkdir()
        assert remove_stale(tmp_path) == 2
        assert list(tmp_path.iterdir()) == []
    finally:
        worker.wait()


def test_remove_stale_copes_with_a_missing_temp_dir(tmp_path: Path) -> None:
    assert remove_stale(tmp_path / "absent") == 0
