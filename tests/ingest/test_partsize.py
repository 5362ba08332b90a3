"""The part-size rule against S3's limits: 5 MiB minimum, 10,000 parts, 5 GiB parts, 5 TiB objects."""

from __future__ import annotations

import math

import pytest

from anb_ingest.partsize import MIB, S3_MAX_OBJECT_BYTES, S3_MAX_PARTS, S3_MIN_PART_BYTES, part_size

GIB = 1024 * MIB

CASES = [
    # (max length, preferred, expected)
    (0, 8 * MIB, 8 * MIB),
    (1, 8 * MIB, 8 * MIB),
    (100 * 1000 * 1000, 8 * MIB, 8 * MIB),
    (500 * 1000 * 1000, 8 * MIB, 8 * MIB),
    (8 * MIB * S3_MAX_PARTS, 8 * MIB, 8 * MIB),  # exactly 10,000 parts of the preferred size
    (8 * MIB * S3_MAX_PARTS + 1, 8 * MIB, 9 * MIB),  # one byte more: the next whole MiB
    (100 * GIB, 8 * MIB, 11 * MIB),
    (1024 * GIB, 8 * MIB, 105 * MIB),
    (S3_MAX_OBJECT_BYTES, 8 * MIB, 525 * MIB),
    (100 * 1000 * 1000, 1 * MIB, S3_MIN_PART_BYTES),  # below S3's minimum is raised to it
    (100 * 1000 * 1000, 64 * MIB, 64 * MIB),
]


@pytest.mark.parametrize(("length", "preferred", "expected"), CASES)
def test_part_size_table(length: int, preferred: int, expected: int) -> None:
    size = part_size(length, preferred)
    assert size == expected
    assert math.ceil(length / size) <= S3_MAX_PARTS
    assert size >= S3_MIN_PART_BYTES


def test_refuses_what_s3_cannot_store() -> None:
    with pytest.raises(ValueError, match="object limit"):
        part_size(S3_MAX_OBJECT_BYTES + 1, 8 * MIB)
    with pytest.raises(ValueError, match="negative"):
        part_size(-1, 8 * MIB)
