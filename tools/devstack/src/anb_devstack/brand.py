"""Brand assets seeded into resources/ (placeholder until the pipeline work lands)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path


def seed_objects() -> Iterator[tuple[str, Path]]:
    return iter(())
