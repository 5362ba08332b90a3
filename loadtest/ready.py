"""Wait for ingest as well as the gateway before the first upload.

``anb_devstack.running.platform`` returns once the gateway's health answers 200, but on a busy machine
ingest can still be starting then (a first upload got 503 "ingest unreachable" that way), so the runners
also wait for ingest's own health check.
"""

from __future__ import annotations

import time

import httpx


def wait_for_ingest(ingest_url: str, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{ingest_url}/internal/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"ingest at {ingest_url} not healthy within {timeout_s:.0f} s")
