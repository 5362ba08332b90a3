"""The launcher's ports, and a refusal that names what holds a taken one."""

from __future__ import annotations

import socket
from dataclasses import dataclass, fields

import psutil

from anb_devstack.errors import StartError

# How `make run` sets each port, so that a refusal can say how to pick another.
_MAKE_VARIABLES = {
    "gateway": "GATEWAY_PORT",
    "ingest": "INGEST_PORT",
    "moto": "MOTO_PORT",
    "postgres": "PG_PORT",
}


@dataclass
class Ports:
    gateway: int = 8000
    ingest: int = 8001
    moto: int = 5000
    postgres: int = 5432

    def check_free(self) -> None:
        """Raise ``StartError`` naming the first port that is given twice or already taken."""
        seen: dict[int, str] = {}
        for field in fields(self):
            name, port = field.name, getattr(self, field.name)
            if port in seen:
                raise StartError(f"{seen[port]} and {name} are both given port {port}")
            seen[port] = name
            if _answers(port):
                raise StartError(
                    f"port {port} ({name}) is taken by {holder(port)}: is another `make run` still going? "
                    f"Stop it, or choose another port: make run {_MAKE_VARIABLES[name]}=<port>"
                )


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def holder(port: int) -> str:
    """The process listening on ``port``, e.g. "pid 123 (postgres)"; the kernel hides other users'
    sockets from a user that is not root, and sockets of other network namespaces from everyone."""
    listeners = [
        conn
        for conn in psutil.net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port
    ]
    for conn in listeners:
        if conn.pid is not None:
            try:
                return f"pid {conn.pid} ({psutil.Process(conn.pid).name()})"
            except psutil.Error:
                return f"pid {conn.pid}"
    return "a process this user cannot see (`sudo ss -ltnp` names it)"
