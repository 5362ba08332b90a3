"""The repository carries its own copy of the API contract, kept equal to the team's shared one."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = ROOT / "docs" / "api.md"
SHARED = ROOT.parent / "shared" / "api.md"


def test_the_repository_carries_the_contract() -> None:
    assert OURS.read_text().startswith("# ANB Video — public HTTP API contract")


def test_the_copy_equals_the_shared_contract() -> None:
    if not SHARED.exists():
        pytest.skip(f"{SHARED} is not beside this checkout")
    assert OURS.read_text() == SHARED.read_text(), f"docs/api.md differs from {SHARED}: copy it over"
