"""The spool: hashed copy, file sections for part bodies, and the start-up sweep of leftovers."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from anb_ingest.spool import Spool, sweep_stale


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


def test_sweep_removes_only_old_folders(tmp_path: Path) -> None:
    old, fresh = Spool(tmp_path, "a"), Spool(tmp_path, "b")
    old.seal()
    fresh.seal()
    an_hour_ago = time.time() - 3600
    os.utime(old.folder, (an_hour_ago, an_hour_ago))
    assert sweep_stale(tmp_path, older_than_s=600) == 1
    assert not old.folder.exists()
    assert fresh.folder.exists()
    assert sweep_stale(tmp_path / "missing", older_than_s=600) == 0
