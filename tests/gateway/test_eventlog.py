"""EventLog: ids, and what a Last-Event-ID resumes."""

from __future__ import annotations

import uuid

import pytest

from anb_gateway.eventlog import EventLog

ANA, LUIS = uuid.uuid4(), uuid.uuid4()
START = 1_764_590_000.0  # the clock at start, in seconds


def frame(event_id: int) -> bytes:
    return b"id: %d\n\n" % event_id


@pytest.fixture
def log() -> EventLog:
    """Ana's events 1, 2 and 4, Luis's 3, numbered from the clock in microseconds."""
    events = EventLog(capacity=4, clock=lambda: START)
    for owner in (ANA, ANA, LUIS, ANA):
        events.add(owner, frame)
    return events


def first(offset: int) -> int:
    return int(START * 1_000_000) + offset


def test_ids_count_up_from_the_clock_in_microseconds(log: EventLog) -> None:
    assert log.next_id == first(4)
    assert log.add(LUIS, frame) == frame(first(4))
    # A process started a second later numbers above a million events of this one.
    assert EventLog(4, clock=lambda: START + 1).next_id == first(1_000_000)


@pytest.mark.parametrize(
    ("owner", "last", "resumed"),
    [
        (ANA, first(0), [frame(first(1)), frame(first(3))]),  # after 1: 2 and 4, not Luis's 3
        (ANA, first(1), [frame(first(3))]),
        (ANA, first(3), []),  # the newest: nothing missed
        (LUIS, first(2), []),
        (LUIS, first(0), None),  # Ana's id: not what this stream was sent
        (ANA, first(2), None),  # Luis's id
        (ANA, first(4), None),  # not sent yet: another process's
        (ANA, first(0) - 1, None),  # before everything held
        (ANA, first(1) + 10**6, None),
    ],
)
def test_since_resumes_only_after_an_id_held_for_the_same_player(
    log: EventLog, owner: uuid.UUID, last: int, resumed: list[bytes] | None
) -> None:
    assert log.since(owner, last) == resumed


def test_an_evicted_or_forgotten_id_is_not_resumed(log: EventLog) -> None:
    log.add(LUIS, frame)  # capacity 4: Ana's first event leaves
    assert log.since(ANA, first(0)) is None
    assert log.since(ANA, first(1)) == [frame(first(3))]
    log.forget()
    assert log.since(ANA, first(3)) is None
    assert log.add(ANA, frame) == frame(first(5))  # ids go on increasing
