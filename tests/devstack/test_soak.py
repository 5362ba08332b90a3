from __future__ import annotations

import pytest

from anb_devstack.soak import _share


@pytest.mark.parametrize(
    ("uploads", "users", "expected"),
    [(8, 50, [1] * 8 + [0] * 42), (50, 50, [1] * 50), (120, 50, [3] * 20 + [2] * 30), (0, 3, [0, 0, 0])],
)
def test_uploads_are_spread_evenly(uploads: int, users: int, expected: list[int]) -> None:
    shares = [_share(uploads, users, index) for index in range(users)]
    assert shares == expected
    assert sum(shares) == uploads
