"""The spool: hashed copy, file sections for part bodies, and the start-up sweep of leftovers."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from pathlib import Path

from anb_ingest.spool import Journal, Spool, orphans, read_journal


async def test_spool_hashes_and_serves_sections(tmp_path: Path) -> None:
    data = os.urandom(300_000)
    spool = Spool(tmp_path, "clip")
    await spool.write(data[:100_000])
    await spool.write(bytearray(data[100_000:]))
    assert spool.size == len(data)
    assert spool.sha256 == hashlib.sha256(data).hexdigest()
    with spool.section(50_000, 200_000) as section:
        assert section.read() == data[50_000:250_000]
        section.seek(0)
        assert section.read(10) == data[50_000:50_010]
        assert section.seek(0, os.SEEK_END) == 200_000
    spool.close()
    assert not spool.folder.exists()


def test_orphans_are_folders_of_dead_processes_or_too_old(tmp_path: Path) -> None:
    sibling = tmp_path / f"upload-{os.getppid()}-live"  # another live process's upload in flight
    dead = tmp_path / f"upload-{dead_process_pid()}-abc"
    old = tmp_path / f"upload-{os.getppid()}-old"
    for folder in (sibling, dead, old):
        folder.mkdir()
    a_day_ago = time.time() - 90_000
    os.utime(old, (a_day_ago, a_day_ago))
    assert set(orphans(tmp_path, older_than_s=86_400, at_start_up=True)) == {dead, old}
    assert orphans(tmp_path / "missing", older_than_s=600, at_start_up=True) == []


def test_own_folders_are_live_uploads_after_start_up_unless_marked_for_retry(tmp_path: Path) -> None:
    live = Spool(tmp_path, "clip")
    failed = Spool(tmp_path, "clip")
    failed.keep_for_retry()
    failed.close()
    assert failed.folder.exists()
    assert not failed.path.exists()
    # At start-up any folder with our pid is an earlier process's; while serving, ours are live.
    assert set(orphans(tmp_path, older_than_s=86_400, at_start_up=True)) == {live.folder, failed.folder}
    assert orphans(tmp_path, older_than_s=86_400, at_start_up=False) == [failed.folder]
    live.close()


def test_journal_round_trip(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "clip")
    assert read_journal(spool.folder) is None
    spool.journal(Journal("uploads/x.mp4", "upload-id"))
    assert read_journal(spool.folder) == Journal("uploads/x.mp4", "upload-id")
    spool.close()


def dead_process_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid
