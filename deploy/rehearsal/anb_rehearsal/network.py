"""The rehearsal's own network: a bridge that only this machine's hosts join.

The hosts (nspawn containers, ``--network-bridge``) get 10.77.0.N; the bridge holds 10.77.0.1, where
the stand-ins for AWS and RDS listen, and 169.254.169.254, the instance metadata address, so that
botocore and the bootstrap reach "IMDS" exactly where EC2 has it. Nothing is routed beyond: no NAT, no
forwarding, the hosts reach only the bridge's addresses and each other.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

BRIDGE = "anb-rehearsal0"
GATEWAY = "10.77.0.1"
PREFIX = 24
IMDS_ADDRESS = "169.254.169.254"
# The harness on the bridge plays the load balancer: its address stands for the network stack's public
# subnets (the PublicSubnetCidrs export), the only peers whose X-Forwarded-For the gateway believes.
PUBLIC_SUBNETS = f"{GATEWAY}/32"


def host_address(index: int) -> str:
    return f"10.77.0.{index + 2}"


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True)


@contextmanager
def bridge() -> Iterator[str]:
    _ip("link", "del", BRIDGE, check=False)  # left over by a killed run
    _ip("link", "add", BRIDGE, "type", "bridge")
    try:
        _ip("addr", "add", f"{GATEWAY}/{PREFIX}", "dev", BRIDGE)
        _ip("addr", "add", f"{IMDS_ADDRESS}/32", "dev", BRIDGE)
        _ip("link", "set", BRIDGE, "up")
        yield BRIDGE
    finally:
        _ip("link", "del", BRIDGE, check=False)
