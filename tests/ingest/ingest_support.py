"""Helpers shared by the ingest tests (plain functions; fixtures live in conftest.py)."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from memcg import MemoryCgroup

from anb_common import identity
from anb_common.settings import AwsSettings, DatabaseSettings, SecuritySettings, UploadLimits
from anb_ingest.settings import IngestOptions, IngestSettings

T = TypeVar("T")

INTERNAL_SECRET = "ingest-test-internal-secret-" + "z" * 32

# Tests wait for the relay: poll often, back off briefly, take rows as soon as they are committed.
FAST_RELAY: dict[str, Any] = {"relay_interval_s": 0.2, "relay_backoff_cap_s": 1.0, "relay_grace_s": 0.0}


def ingest_settings(
    db: DatabaseSettings,
    aws: AwsSettings,
    temp_dir: Path,
    *,
    upload: UploadLimits | None = None,
    **options: Any,
) -> IngestSettings:
    return IngestSettings(
        db=db,
        aws=aws,
        upload=upload or UploadLimits(),
        security=SecuritySettings(internal_secret=INTERNAL_SECRET),
        ingest=IngestOptions(temp_dir=temp_dir, **{**FAST_RELAY, **options}),
    )


def identity_headers(user_id: uuid.UUID) -> dict[str, str]:
    """What the gateway adds to one upload: the identity of ``user_id`` signed for that one request
    (ingest accepts each token once) and a request id."""
    token = identity.sign(user_id, INTERNAL_SECRET, method="POST", path="/internal/uploads")
    return {identity.HEADER: token, "X-Request-ID": uuid.uuid4().hex}


NOTHING_LEFT: dict[str, list[str]] = {
    "multipart_uploads": [],
    "orphan_objects": [],
    "rows": [],
    "temp_files": [],
}


@dataclass(frozen=True)
class IngestProcess:
    url: str
    temp_dir: Path
    log: Path
    pid: int


@dataclass(frozen=True)
class CappedIngest:
    """An ingest process charged to a memory cgroup with the unit's limit."""

    ingest: IngestProcess
    process: subprocess.Popen[bytes]
    group: MemoryCgroup


def refused(response: httpx.Response, status: int = 400) -> tuple[str, dict[str, Any]]:
    """The code and values of a refusal, after checking its shape: machine codes, no prose (the
    gateway renders what players read)."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"status_code", "code", "values"}, body
    assert body["status_code"] == status
    return body["code"], body["values"]


def file_header(boundary: str, filename: str = "a.mp4") -> bytes:
    disposition = f'form-data; name="video_file"; filename="{filename}"'
    return f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode()


def form_type(boundary: str) -> str:
    return f"multipart/form-data; boundary={boundary}"


async def wait_for(condition: Callable[[], Awaitable[T]], what: str, timeout_s: float = 60) -> T:
    """Poll until ``condition`` returns something truthy. Generous timeout: what matters is that it
    happens, not how fast on a loaded 2-core machine."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.2)
