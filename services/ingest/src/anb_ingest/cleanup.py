"""Undoing an upload even while its request is being cancelled (the client went away mid-body)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

# Cleanups that outlive a cancelled request are kept referenced here until they finish.
_cleanups: set[asyncio.Task[bool]] = set()


async def shielded(cleanup: Coroutine[Any, Any, None], what: str) -> bool:
    """Run ``cleanup`` to its end even if this request is being cancelled (the client went away),
    and never let its own failure hide the error that made it necessary. True when it worked."""
    task = asyncio.create_task(_logged(cleanup, what))
    _cleanups.add(task)
    task.add_done_callback(_cleanups.discard)
    return await asyncio.shield(task)


async def _logged(cleanup: Coroutine[Any, Any, None], what: str) -> bool:
    try:
        await cleanup
    except Exception:
        log.exception("could not %s; the periodic recovery will try again", what)
        return False
    return True
