"""Whether a process still runs, for the folders that carry their owner's pid in their name.

Ingest's spool folders, the transcoder's job folders and the invariant checker all decide from a
pid whether what they found belongs to a live process or is a crash's leftover.
"""

from __future__ import annotations

import os
from pathlib import Path


def alive(pid: int) -> bool:
    """True while process ``pid`` exists and has not exited.

    A killed process stays a zombie until its parent (systemd, the launcher) reaps it: ``kill(pid,
    0)`` still succeeds then, so the state in ``/proc`` decides. A process of another user answers
    ``PermissionError``: it exists.
    """
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        # The state is the first field after the command name, which is in parentheses and may
        # itself hold spaces or parentheses: split on the last one.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def owner_pid(name: str, prefix: str) -> int | None:
    """The pid in a folder name ``<prefix><pid>-…`` (or ``<prefix><pid>``), None for other names."""
    if not name.startswith(prefix):
        return None
    text = name[len(prefix) :].split("-", 1)[0]
    return int(text) if text.isdigit() else None
