"""The one failure the launcher reports as a message rather than a traceback."""

from __future__ import annotations


class StartError(RuntimeError):
    """A part of the platform could not start for a reason outside the code (a taken port, a server
    that refused to start): the message says what happened and where to look."""
