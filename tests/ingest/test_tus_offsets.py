"""The part and offset arithmetic of resumable uploads (anb_ingest.tus.offsets), as tables."""

from __future__ import annotations

import pytest

from anb_ingest.tus.offsets import Piece, begun, boundary, part_count, piece, tail_length

P = 8  # a part size small enough to read the tables by eye


@pytest.mark.parametrize(("length", "parts"), [(1, 1), (7, 1), (8, 1), (9, 2), (16, 2), (17, 3)])
def test_part_count(length: int, parts: int) -> None:
    assert part_count(length, P) == parts


@pytest.mark.parametrize(
    ("offset", "parts", "tail"),
    [(0, 0, 0), (5, 0, 5), (8, 1, 0), (13, 1, 5), (15, 1, 7), (16, 2, 0)],
)
def test_tail_is_what_lies_past_the_whole_parts(offset: int, parts: int, tail: int) -> None:
    assert tail_length(offset, parts, P) == tail


@pytest.mark.parametrize(("offset", "parts"), [(8, 0), (16, 1), (3, 1)])
def test_an_offset_outside_the_next_part_is_an_error(offset: int, parts: int) -> None:
    # A tail of a whole part (or a negative one) would mean the row and the parts disagree.
    with pytest.raises(ValueError, match="not within part"):
        tail_length(offset, parts, P)


@pytest.mark.parametrize(
    ("number", "length", "expected"),
    [
        (1, 20, Piece(1, 0, 8, final=False)),
        (2, 20, Piece(2, 8, 16, final=False)),
        (3, 20, Piece(3, 16, 20, final=True)),  # the last part may be short
        (2, 16, Piece(2, 8, 16, final=True)),  # or whole
        (1, 3, Piece(1, 0, 3, final=True)),
    ],
)
def test_part_n_holds_fixed_bytes_whatever_the_patches(number: int, length: int, expected: Piece) -> None:
    assert piece(number, length, P) == expected
    assert boundary(number - 1, P) == expected.start


@pytest.mark.parametrize(("number", "length"), [(0, 20), (4, 20), (3, 16)])
def test_a_part_outside_the_upload_is_an_error(number: int, length: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        piece(number, length, P)


@pytest.mark.parametrize(
    ("next_number", "received", "length", "numbers"),
    [
        (1, 0, 20, []),
        (1, 1, 20, [1]),  # one byte is enough to start a part on its way
        (1, 8, 20, [1]),  # part 2 starts at byte 8, which is not held yet
        (1, 9, 20, [1, 2]),
        (1, 17, 20, [1, 2, 3]),  # the last, short part too
        (2, 16, 20, [2]),  # part 1 already on its way
        (3, 20, 20, [3]),
        (4, 20, 20, []),  # every part on its way
        (1, 25, 20, [1, 2, 3]),  # never past the upload's length
    ],
)
def test_begun_lists_the_parts_whose_first_byte_has_arrived(
    next_number: int, received: int, length: int, numbers: list[int]
) -> None:
    assert [p.number for p in begun(next_number, received, length, P)] == numbers
