"""The 30 s version of ``make soak``: simulated players on a fresh platform, nothing lost."""

from __future__ import annotations

import tempfile
from pathlib import Path

from anb_devstack.soak import soak_fresh_platform


def test_thirty_seconds_of_fifty_players(session_tmp: Path) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="soak-", dir=session_tmp))
    report, problems = soak_fresh_platform(
        workdir, users=50, duration_s=30, uploads=8, drain_s=300, workers=2
    )
    assert report.server_errors == []
    assert report.accepted > 0
    assert report.not_processed == [], report.not_processed
    assert problems == [], problems
