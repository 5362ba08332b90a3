"""The listings cache on its own: what it serves, what it refuses to keep, and when it forgets."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from anb_gateway.listings import OwnerListings

ANA, LUIS = uuid.uuid4(), uuid.uuid4()
PAGE = (50, 0)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def serving(ttl_s: float = 30, max_owners: int = 10) -> tuple[OwnerListings[str], Clock]:
    clock = Clock()
    listings: OwnerListings[str] = OwnerListings(ttl_s, max_owners, clock)
    listings.start_serving()
    return listings, clock


def test_a_stored_page_is_served_until_its_ttl() -> None:
    listings, clock = serving(ttl_s=30)
    assert listings.put(ANA, PAGE, "ana-page", listings.version(ANA))
    assert listings.get(ANA, PAGE) == "ana-page"
    assert listings.get(ANA, (50, 50)) is None
    assert listings.get(LUIS, PAGE) is None
    clock.now += 29.9
    assert listings.get(ANA, PAGE) == "ana-page"
    clock.now += 0.1
    assert listings.get(ANA, PAGE) is None


# Something happens between the read (version taken) and the store: is the store refused?
BETWEEN_READ_AND_STORE: list[tuple[str, Callable[[OwnerListings[str]], None], bool]] = [
    ("nothing", lambda listings: None, True),
    ("another owner changed", lambda listings: listings.changed(LUIS), True),
    ("this owner changed", lambda listings: listings.changed(ANA), False),
    ("the feed was lost", lambda listings: listings.stop_serving(), False),
    (
        "the feed was lost and came back",
        lambda listings: (listings.stop_serving(), listings.start_serving()),
        False,
    ),
    ("everything was forgotten", lambda listings: listings.clear(), False),
]


@pytest.mark.parametrize(
    ("case", "event", "stored"), BETWEEN_READ_AND_STORE, ids=[c[0] for c in BETWEEN_READ_AND_STORE]
)
def test_a_read_racing_a_change_is_not_stored(
    case: str, event: Callable[[OwnerListings[str]], None], stored: bool
) -> None:
    listings, _ = serving()
    read = listings.version(ANA)
    event(listings)
    assert listings.put(ANA, PAGE, "read-before", read) is stored
    assert (listings.get(ANA, PAGE) == "read-before") is stored


def test_a_change_drops_every_page_of_that_owner_only() -> None:
    listings, _ = serving()
    for page in [(50, 0), (1, 0), (1, 1)]:
        listings.put(ANA, page, f"ana-{page}", listings.version(ANA))
    listings.put(LUIS, PAGE, "luis", listings.version(LUIS))
    listings.changed(ANA)
    assert [listings.get(ANA, page) for page in [(50, 0), (1, 0), (1, 1)]] == [None, None, None]
    assert listings.get(LUIS, PAGE) == "luis"


def test_nothing_is_kept_or_served_while_the_feed_is_down() -> None:
    clock = Clock()
    listings: OwnerListings[str] = OwnerListings(30, 10, clock)
    assert not listings.put(ANA, PAGE, "before-feed", listings.version(ANA))
    listings.start_serving()
    listings.put(ANA, PAGE, "kept", listings.version(ANA))
    listings.stop_serving()
    assert listings.get(ANA, PAGE) is None
    assert not listings.put(ANA, PAGE, "while-down", listings.version(ANA))
    listings.start_serving()
    assert listings.get(ANA, PAGE) is None


def test_a_zero_ttl_keeps_nothing() -> None:
    listings, _ = serving(ttl_s=0)
    assert not listings.put(ANA, PAGE, "page", listings.version(ANA))
    assert listings.get(ANA, PAGE) is None


def test_memory_is_bounded_by_max_owners() -> None:
    listings, _ = serving(max_owners=3)
    owners = [uuid.uuid4() for _ in range(3)]
    for owner in owners:
        assert listings.put(owner, PAGE, str(owner), listings.version(owner))
    newcomer = uuid.uuid4()
    # Full: the cache starts over instead of growing.
    assert not listings.put(newcomer, PAGE, "newcomer", listings.version(newcomer))
    assert all(listings.get(owner, PAGE) is None for owner in owners)
    assert listings.put(newcomer, PAGE, "newcomer", listings.version(newcomer))


def test_change_marks_are_bounded_too() -> None:
    listings, _ = serving(max_owners=3)
    listings.put(ANA, PAGE, "ana", listings.version(ANA))
    for _ in range(4):
        listings.changed(uuid.uuid4())
    assert listings.get(ANA, PAGE) is None
