"""Uploads in flight per player: a cap per player, others unaffected, slots given back."""

from __future__ import annotations

import uuid

from anb_gateway.player_uploads import PlayerUploads

ANA, LUIS = uuid.uuid4(), uuid.uuid4()


def test_a_player_gets_up_to_the_cap_and_others_are_unaffected() -> None:
    uploads = PlayerUploads(per_player=2)
    assert [uploads.take(ANA) for _ in range(3)] == [True, True, False]
    assert uploads.take(LUIS)
    uploads.give(ANA)
    assert uploads.take(ANA)
    assert not uploads.take(ANA)


def test_players_with_nothing_in_flight_take_no_memory() -> None:
    uploads = PlayerUploads(per_player=2)
    players = [uuid.uuid4() for _ in range(1000)]
    for player in players:
        assert uploads.take(player)
    for player in players:
        uploads.give(player)
    assert len(uploads) == 0
