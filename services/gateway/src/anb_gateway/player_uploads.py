"""Uploads in flight per player, so that one player (or one stolen token) cannot take every relay
slot of a gateway process with slow or endless bodies while other players wait.

Counted per process: a player whose uploads reach several gateway instances may have this many on
each. That bounds what one player holds of each instance, which is the point; an exact global count
would need a shared store on the upload path.
"""

from __future__ import annotations

import uuid


class PlayerUploads:
    def __init__(self, per_player: int) -> None:
        self.per_player = per_player
        self._in_flight: dict[uuid.UUID, int] = {}

    def __len__(self) -> int:
        """Players with an upload in flight."""
        return len(self._in_flight)

    def take(self, player: uuid.UUID) -> bool:
        """A slot for one more upload of ``player``; False when the player has the most already."""
        held = self._in_flight.get(player, 0)
        if held >= self.per_player:
            return False
        self._in_flight[player] = held + 1
        return True

    def give(self, player: uuid.UUID) -> None:
        """The upload ended, however it ended."""
        held = self._in_flight.pop(player, 0) - 1
        if held > 0:
            self._in_flight[player] = held
