"""S3 multipart part size for an upload of known maximum length: a pure function of S3's limits."""

from __future__ import annotations

import math

MIB = 1024 * 1024
S3_MIN_PART_BYTES = 5 * MIB
"""Every part but the last must be at least 5 MiB (S3 answers EntityTooSmall at completion)."""
S3_MAX_PART_BYTES = 5 * 1024 * MIB
S3_MAX_PARTS = 10_000
S3_MAX_OBJECT_BYTES = 5 * 1024 * 1024 * MIB


def part_size(max_length: int, preferred: int) -> int:
    """Part size for an object of at most ``max_length`` bytes.

    ``preferred`` (raised to S3's 5 MiB minimum) unless the object would then need more than
    10,000 parts; then the smallest whole number of MiB that fits it in 10,000 parts.
    """
    if max_length < 0:
        raise ValueError(f"negative length {max_length}")
    if max_length > S3_MAX_OBJECT_BYTES:
        raise ValueError(f"{max_length} bytes is over S3's {S3_MAX_OBJECT_BYTES} byte object limit")
    size = max(preferred, S3_MIN_PART_BYTES)
    needed = math.ceil(max_length / S3_MAX_PARTS)
    if needed > size:
        size = math.ceil(needed / MIB) * MIB
    return min(size, S3_MAX_PART_BYTES)
