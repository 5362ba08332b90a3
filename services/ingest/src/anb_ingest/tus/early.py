"""Judging a resumable upload by its first bytes: as soon as the prefix holds what its container
needs (``prefix``), the one-request path's prober runs on it, and a clip that breaks a rule the
prefix already decides is refused while the rest is still to come."""

from __future__ import annotations

from pathlib import Path

from anb_common.reasons import UploadRule
from anb_ingest.errors import UploadRejected
from anb_ingest.prober import Prober
from anb_ingest.tus.prefix import NeedMore, Never, readiness

DECIDED_BY_PREFIX = frozenset(
    {
        UploadRule.CODEC,
        UploadRule.RESOLUTION,
        UploadRule.DURATION,
        UploadRule.FRAME_RATE,
        UploadRule.NO_VIDEO_STREAM,
    }
)
"""Rules a prefix that holds the container's header and first picture decides for good. Anything
else a prefix probe says (damage, say) may be the truncation's doing: the whole file decides."""


class HeadCheck:
    """The ``writer.HeadCheck`` of one PATCH: reads the spool's prefix only when it may have become
    enough (the structure says how many bytes it needs next), at most ``limit`` bytes of it."""

    def __init__(self, prober: Prober, limit: int) -> None:
        self._prober = prober
        self._limit = limit
        self._needed = 0

    async def __call__(self, path: Path, size: int) -> bool:
        if size < self._needed:
            return False
        with path.open("rb") as spool:
            head = spool.read(min(size, self._limit))
        found = readiness(head)
        if isinstance(found, NeedMore):
            self._needed = found.until
            return found.until > self._limit
        if isinstance(found, Never):
            return True
        try:
            await self._prober.probe(path, duration_known=found.duration_known)
        except UploadRejected as exc:
            if exc.rule in DECIDED_BY_PREFIX:
                raise
        return True
