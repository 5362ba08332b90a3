"""FileSection, the body of one S3 part: a window of the spool file, read and sought like a file."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from anb_ingest.sections import FileSection

DATA = bytes(range(256)) * 40  # a pattern: a window a few bytes off reads differently
OFFSET, LENGTH = 1_000, 5_000
WINDOW = DATA[OFFSET : OFFSET + LENGTH]


@pytest.mark.parametrize(
    ("case", "first_read", "seek", "size", "expected"),
    [
        # (case, bytes read first, then seek (offset, whence) or none, then read this many, expected)
        ("whole", 0, None, -1, WINDOW),
        ("in pieces", 10, None, 10, WINDOW[10:20]),
        ("no further than the window", 0, None, LENGTH + 100, WINDOW),
        ("from the middle", 0, (4_000, io.SEEK_SET), -1, WINDOW[4_000:]),
        ("relative", 5, (5, io.SEEK_CUR), 5, WINDOW[10:15]),
        ("from the end", 0, (-10, io.SEEK_END), -1, WINDOW[-10:]),
        ("past the end", 0, (100, io.SEEK_END), -1, b""),
        ("before the start clamps to it", 0, (-100, io.SEEK_SET), 4, WINDOW[:4]),
        # botocore reads a part body once for its checksum, seeks back and sends it.
        ("again after seeking back", LENGTH, (0, io.SEEK_SET), -1, WINDOW),
    ],
)
def test_reads_and_seeks_within_the_window(
    tmp_path: Path, case: str, first_read: int, seek: tuple[int, int] | None, size: int, expected: bytes
) -> None:
    source = tmp_path / "spooled"
    source.write_bytes(DATA)
    with FileSection(source, OFFSET, LENGTH) as section:
        assert section.read(first_read) == WINDOW[:first_read]
        if seek is not None:
            section.seek(*seek)
        assert section.read(size) == expected, case


def test_reports_its_position_and_size(tmp_path: Path) -> None:
    source = tmp_path / "spooled"
    source.write_bytes(DATA)
    with FileSection(source, OFFSET, LENGTH) as section:
        assert (section.readable(), section.seekable(), section.writable()) == (True, True, False)
        section.read(7)
        assert section.tell() == 7
        assert section.seek(0, os.SEEK_END) == LENGTH


def test_close_releases_the_file_once(tmp_path: Path) -> None:
    source = tmp_path / "spooled"
    source.write_bytes(DATA)
    before = set(os.listdir("/proc/self/fd"))
    section = FileSection(source, 0, 10)
    assert set(os.listdir("/proc/self/fd")) > before
    section.close()
    section.close()  # a second close must not close a descriptor reused by someone else
    assert section.closed
    assert set(os.listdir("/proc/self/fd")) == before
