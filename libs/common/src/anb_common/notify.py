"""systemd's readiness protocol (``sd_notify``): a datagram of ``KEY=value`` lines to ``$NOTIFY_SOCKET``.

Units of ``Type=notify`` count as started only once their process sends ``READY=1``; ``STATUS=`` is the
line ``systemctl status`` shows. Written here rather than taken from the ``sdnotify`` package: its last
release is from 2017, it carries no type information (``mypy --strict``), and it hides every error
unless debugging; the protocol itself is the fifteen lines below.
"""

from __future__ import annotations

import os
import socket

# systemd reads its notification socket at once; a send that waits longer has nobody listening.
_SEND_TIMEOUT_S = 2.0


def notify(*assignments: str) -> bool:
    """Send ``assignments`` (``"READY=1"``, ``"STATUS=…"``) to the service manager in one datagram.

    Returns False, sending nothing, when no manager listens (``NOTIFY_SOCKET`` unset: not under
    systemd, or a unit of another type); raises ``OSError`` when the socket cannot take it."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket, named without a file
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.settimeout(_SEND_TIMEOUT_S)
        sock.connect(address)
        sock.sendall("\n".join(assignments).encode())
    return True
