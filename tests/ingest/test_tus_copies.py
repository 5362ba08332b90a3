"""This host's copy of a resumable upload between PATCHes (anb_ingest.tus.copies): what it holds, when
it is kept or started again, its running SHA-256, and that it goes."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from anb_ingest.tus.copies import Copies


async def test_a_copy_kept_from_byte_0_hashes_as_it_goes(tmp_path: Path) -> None:
    copies, upload = Copies(tmp_path), uuid.uuid4()
    copy = copies.at(upload, 0, 0)
    await copy.append(b"a" * 10)
    # The next PATCH on this process: the copy holds [0, 10), so it is kept.
    assert copies.at(upload, 10, 8) is copy
    await copy.append(b"b" * 5)
    assert (copy.start, copy.end) == (0, 15)
    assert copy.sha256() == hashlib.sha256(b"a" * 10 + b"b" * 5).hexdigest()
    with copy.section(8, 4) as section:
        assert section.read() == b"aabb"


async def test_bytes_past_the_durable_offset_are_cut_and_the_hash_given_up(tmp_path: Path) -> None:
    copies, upload = Copies(tmp_path), uuid.uuid4()
    copy = copies.at(upload, 0, 0)
    await copy.append(b"x" * 20)
    # Only 12 of them became durable (a checksum mismatch, a part that failed): the rest goes.
    assert copies.at(upload, 12, 8) is copy
    assert copy.end == 12
    assert copy.path.stat().st_size == 12
    assert copy.sha256() is None


@pytest.mark.parametrize(("offset", "base"), [(30, 24), (8, 8)])
async def test_a_copy_that_lacks_the_durable_bytes_starts_again_at_the_part_boundary(
    tmp_path: Path, offset: int, base: int
) -> None:
    copies, upload = Copies(tmp_path), uuid.uuid4()
    await copies.at(upload, 0, 0).append(b"y" * 5)
    # Another host took PATCHes meanwhile: this copy holds [0, 5) only.
    copy = copies.at(upload, offset, base)
    assert (copy.start, copy.end) == (base, base)
    assert copy.sha256() is None
    with pytest.raises(ValueError, match="outside"):
        copy.section(0, 1)


async def test_dropped_copies_leave_nothing(tmp_path: Path) -> None:
    copies = Copies(tmp_path)
    first, second = uuid.uuid4(), uuid.uuid4()
    await copies.at(first, 0, 0).append(b"z")
    await copies.at(second, 0, 0).append(b"z")
    assert copies.idle(3600) == []
    assert sorted(copies.idle(0)) == sorted([first, second])
    for upload in (first, second):
        await copies.drop(upload)
    await copies.drop(first)  # twice is harmless
    assert list(tmp_path.iterdir()) == []
