"""The spool: hashed copy, sections of it for part bodies, its journal, and what closing leaves."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from anb_ingest.recovery import read_journal
from anb_ingest.spool import JOURNAL, RETRY_MARKER, Journal, Spool


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


def test_journal_round_trip(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "clip")
    assert read_journal(spool.folder) is None
    spool.journal(Journal("uploads/x.mp4", "upload-id"))
    assert read_journal(spool.folder) == Journal("uploads/x.mp4", "upload-id")
    spool.close()


@pytest.mark.parametrize(
    ("journaled", "kept_for_retry", "left"),
    [
        (False, False, None),
        (True, False, None),
        # Undoing failed: the journal (and the marker) stay for recovery, the copy is of no use to it.
        (True, True, {JOURNAL, RETRY_MARKER}),
        (False, True, {RETRY_MARKER}),
    ],
)
async def test_close_leaves_only_what_recovery_needs(
    tmp_path: Path, journaled: bool, kept_for_retry: bool, left: set[str] | None
) -> None:
    spool = Spool(tmp_path, "clip")
    await spool.write(b"spooled bytes")
    if journaled:
        spool.journal(Journal("uploads/x.mp4", "upload-id"))
    if kept_for_retry:
        spool.keep_for_retry()
    spool.close()
    if left is None:
        assert not spool.folder.exists()
    else:
        assert {p.name for p in spool.folder.iterdir()} == left


def test_folder_names_carry_the_owner_pid(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "clip")
    assert spool.folder.parent == tmp_path
    assert spool.folder.name.startswith(f"upload-{os.getpid()}-")
    spool.close()
