"""Uploads for the proxy benchmark: valid MP4s padded to an exact size, streamed from disk, and the
gateway's peak RSS while one runs."""

from __future__ import annotations

import os
import struct
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

MIB = 1024 * 1024


def padded_mp4(clip: Path, target: Path, size: int) -> Path:
    """``clip`` followed by one top-level ``free`` box of random bytes, ``size`` bytes in all.

    MP4 readers skip ``free`` boxes by design, so the file passes ingest's probe and rules like the clip
    does, while the bytes on the wire are those of a real 100 MB upload.
    """
    data = clip.read_bytes()
    pad = size - len(data)
    assert 8 <= pad < 2**32, "one 32-bit free box"
    block = os.urandom(MIB)
    with target.open("wb") as out:
        out.write(data)
        out.write(struct.pack(">I", pad) + b"free")
        left = pad - 8
        while left:
            step = min(left, MIB)
            out.write(block[:step])
            left -= step
    return target


def _form_parts(boundary: str) -> tuple[bytes, bytes]:
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nBench\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="video_file"; filename="bench.mp4"\r\n'
        "Content-Type: video/mp4\r\n\r\n"
    ).encode()
    return head, f"\r\n--{boundary}--\r\n".encode()


async def _chunks(path: Path, head: bytes, tail: bytes) -> AsyncIterator[bytes]:
    yield head
    with path.open("rb") as handle:
        while chunk := handle.read(MIB):
            yield chunk
    yield tail


async def upload(url: str, path: Path, headers: dict[str, str]) -> float:
    """POST the file as the contract's form; seconds until the 202 arrived."""
    boundary = uuid.uuid4().hex
    head, tail = _form_parts(boundary)
    length = len(head) + path.stat().st_size + len(tail)
    all_headers = {
        **headers,
        "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(length),
    }
    async with httpx.AsyncClient(timeout=600) as client:
        started = time.perf_counter()
        response = await client.post(url, content=_chunks(path, head, tail), headers=all_headers)
        elapsed = time.perf_counter() - started
    if response.status_code != 202:
        raise RuntimeError(f"{url} answered {response.status_code}: {response.text}")
    return elapsed


class PeakRss:
    """The kernel's RSS high-water mark of a process, reset at entry (Linux clear_refs "5")."""

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self.peak_mb = 0.0

    def __enter__(self) -> PeakRss:
        Path(f"/proc/{self._pid}/clear_refs").write_text("5")
        return self

    def __exit__(self, *exc: object) -> None:
        for line in Path(f"/proc/{self._pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                self.peak_mb = int(line.split()[1]) / 1024
