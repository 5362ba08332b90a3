"""Hostile inputs and the client side of the hostile-input and security tests.

File surgery on real clips (MP4 boxes, Matroska elements; the H.264 SPS is ``clips.with_sps_size``),
a small synchronous API client, and the checks every upload must pass: a 400 with a detail, or a
video that ends ``processed`` or ``failed`` with a reason, never stuck.
"""

from __future__ import annotations

import json
import struct
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import httpx
import numpy as np
import psutil
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

# --- MP4 boxes ----------------------------------------------------------------------------------

# Boxes whose payload is a list of boxes; stsd and the sample entries have a fixed prefix first.
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta", b"mvex"}
_PREFIXED = {b"stsd": 8, b"avc1": 78, b"hvc1": 78, b"hev1": 78, b"av01": 78, b"vp09": 78}


@dataclass(frozen=True)
class Box:
    offset: int
    size: int
    kind: bytes
    parents: tuple[int, ...]
    """Offsets of the enclosing boxes, outermost first (their sizes change when this one does)."""

    @property
    def end(self) -> int:
        return self.offset + self.size


def boxes(
    data: bytes, start: int = 0, end: int | None = None, parents: tuple[int, ...] = ()
) -> Iterator[Box]:
    """Every box of an MP4/MOV file, depth first (32-bit sizes only: what PyAV writes for small clips)."""
    end = len(data) if end is None else end
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, at)
        if size < 8 or at + size > end:
            return
        yield Box(at, size, kind, parents)
        inner = at + 8 + _PREFIXED.get(kind, 0)
        if kind in _CONTAINERS or kind in _PREFIXED:
            yield from boxes(data, inner, at + size, (*parents, at))
        at += size


def find_box(data: bytes, kind: bytes) -> Box:
    for box in boxes(data):
        if box.kind == kind:
            return box
    raise LookupError(f"no {kind!r} box")


def replace_payload(data: bytes, box: Box, payload: bytes) -> bytes:
    """``data`` with ``box``'s payload replaced, its size and every enclosing box's size fixed up.

    Only safe when nothing after the box is addressed by offset (moov after mdat: the default layout).
    """
    grown = len(payload) - (box.size - 8)
    out = bytearray(data[: box.offset] + struct.pack(">I", box.size + grown) + box.kind + payload)
    out += data[box.end :]
    for parent in box.parents:
        (size,) = struct.unpack_from(">I", out, parent)
        struct.pack_into(">I", out, parent, size + grown)
    return bytes(out)


def set_tkhd_size(data: bytes, width: int, height: int) -> bytes:
    """Declare ``width`` x ``height`` in the track header (16.16 fixed point), bytes otherwise kept."""
    box = find_box(data, b"tkhd")
    version = data[box.offset + 8]
    at = box.offset + (96 if version == 1 else 84)
    out = bytearray(data)
    struct.pack_into(">II", out, at, (width & 0xFFFF) << 16, (height & 0xFFFF) << 16)
    return bytes(out)


def set_sample_entry_size(data: bytes, width: int, height: int) -> bytes:
    """Declare ``width`` x ``height`` in the avc1 sample entry (16-bit fields)."""
    box = find_box(data, b"avc1")
    out = bytearray(data)
    struct.pack_into(">HH", out, box.offset + 32, width & 0xFFFF, height & 0xFFFF)
    return bytes(out)


def with_mdat_damaged(data: bytes, fraction: float, fill: bytes | None = None) -> bytes:
    """The mdat from ``fraction`` of its length on overwritten (same length, zeros unless ``fill``)."""
    box = find_box(data, b"mdat")
    start = box.offset + 8 + int((box.size - 8) * fraction)
    length = box.end - start
    junk = (fill or b"\x00") * (length // len(fill or b"\x00") + 1)
    return data[:start] + junk[:length] + data[box.end :]


def with_mdat_truncated(data: bytes, fraction: float) -> bytes:
    """A faststart file (moov first) cut ``fraction`` of the way into its mdat: the index still
    promises every sample, the bytes stop halfway."""
    box = find_box(data, b"mdat")
    if find_box(data, b"moov").offset > box.offset:
        raise ValueError("the moov must come before the mdat (faststart) for the index to survive")
    return data[: box.offset + 8 + int((box.size - 8) * fraction)]


def audio_only_mp4(path: Path, seconds: float = 21.0) -> bytes:
    """A valid MP4 with one AAC track and no video track."""
    rate = 48_000
    with av.open(str(path), "w", format="mp4") as out:
        sound = out.add_stream("aac", rate=rate)
        assert isinstance(sound, AudioStream)
        sound.layout = "mono"
        for start in range(0, int(seconds * rate), 1024):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            out.mux(sound.encode(frame))
        out.mux(sound.encode(None))
    return path.read_bytes()


def empty_track_mp4(path: Path) -> bytes:
    """A valid MP4 whose 1080p H.264 track holds no samples at all."""
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=30)
        assert isinstance(video, VideoStream)
        video.width, video.height, video.pix_fmt = 1920, 1080, "yuv420p"
        out.start_encoding()  # header and trailer are written although no packet ever is
    return path.read_bytes()


# --- Matroska -----------------------------------------------------------------------------------

_SEGMENT, _TRACKS, _TRACK_ENTRY, _VIDEO = 0x18538067, 0x1654AE6B, 0xAE, 0xE0
_PIXEL_WIDTH, _PIXEL_HEIGHT = 0xB0, 0xBA


def _vint(data: bytes, at: int, keep_marker: bool) -> tuple[int, int]:
    width = 9 - data[at].bit_length()
    value = data[at] if keep_marker else data[at] & (0xFF >> width)
    for byte in data[at + 1 : at + width]:
        value = (value << 8) | byte
    if not keep_marker and value == (1 << (7 * width)) - 1:
        value = -1  # unknown size: runs to the end of the parent
    return value, at + width


def ebml_elements(data: bytes, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, int]]:
    """(id, payload start, payload end) of each element under the path Segment/Tracks/TrackEntry/Video."""
    end = len(data) if end is None else end
    at = start
    while at < end:
        element, at = _vint(data, at, keep_marker=True)
        size, at = _vint(data, at, keep_marker=False)
        stop = end if size < 0 else min(at + size, end)
        yield element, at, stop
        if element in (_SEGMENT, _TRACKS, _TRACK_ENTRY, _VIDEO):
            yield from ebml_elements(data, at, stop)
        at = stop


def set_matroska_pixel_size(data: bytes, width: int, height: int) -> bytes:
    """Overwrite PixelWidth/PixelHeight of the video track in place (element sizes kept, so a value
    is cut to the bytes its element already has)."""
    out = bytearray(data)
    wanted = {_PIXEL_WIDTH: width, _PIXEL_HEIGHT: height}
    for element, start, stop in ebml_elements(data):
        if element in wanted:
            size = stop - start
            value = min(wanted.pop(element), (1 << (8 * size)) - 1)
            out[start:stop] = value.to_bytes(size, "big")
    if wanted:
        raise LookupError("no PixelWidth/PixelHeight element")
    return bytes(out)


_VP9_SYNC = b"\x49\x83\x42"


def set_vp9_keyframe_size(data: bytes, width: int, height: int) -> bytes:
    """Declare ``width`` x ``height`` in the first VP9 keyframe header (profile 0, 8-bit): the decoder
    itself, not just the container, is told the picture has that size."""
    at = data.index(_VP9_SYNC) + len(_VP9_SYNC)
    # Profile 0 after the sync code: color_space (3 bits), color_range (1), then the 16-bit sizes - 1.
    head = int.from_bytes(data[at : at + 5], "big")  # 40 bits: 4 + 16 + 16 + 4
    keep_high = head >> 36
    keep_low = head & 0xF
    patched = (keep_high << 36) | ((width - 1) & 0xFFFF) << 20 | ((height - 1) & 0xFFFF) << 4 | keep_low
    return data[:at] + patched.to_bytes(5, "big") + data[at + 5 :]


# --- the platform from outside ------------------------------------------------------------------

TERMINAL = ("processed", "failed")
PASSWORD = "hostile-Pa55word-2026"
# Every credential these tests send or receive: the log check at the end greps the platform's log for them.
CREDENTIALS: set[str] = {PASSWORD}


@dataclass
class Player:
    email: str
    password: str
    token: str
    user_id: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def new_player(client: httpx.Client, city: str = "Cali", first_name: str = "Hostil") -> Player:
    email = f"hostile-{uuid.uuid4().hex[:12]}@example.com"
    body = {
        "first_name": first_name, "last_name": "Prueba", "email": email, "password1": PASSWORD,
        "password2": PASSWORD, "city": city, "country": "Colombia",
    }  # fmt: skip
    signup = client.post("/auth/signup", json=body)
    assert signup.status_code == 201, signup.text
    return Player(email, PASSWORD, login(client, email, PASSWORD), signup.json()["user_id"])


def login(client: httpx.Client, email: str, password: str) -> str:
    response = client.post("/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token = str(response.json()["access_token"])
    CREDENTIALS.update((password, token))
    return token


def upload(
    client: httpx.Client, player: Player, data: bytes, filename: str = "clip.mp4", title: str = "hostile"
) -> httpx.Response:
    files = {"video_file": (filename, data, "video/mp4")}
    return client.post("/videos/upload", headers=player.auth, files=files, data={"title": title})


def assert_refused_or_accepted(response: httpx.Response, what: str) -> str | None:
    """A 400 with a detail (None), or a 202 (the video id); anything else fails naming ``what``."""
    assert response.status_code in (202, 400), f"{what}: {response.status_code} {response.text[:300]}"
    body = response.json()
    if response.status_code == 400:
        detail = body.get("detail")
        assert isinstance(detail, str), f"{what}: 400 without a detail"
        assert detail.strip(), f"{what}: 400 with an empty detail"
        return None
    return str(body["video_id"])


def wait_terminal(
    client: httpx.Client, player: Player, video_ids: list[str], timeout_s: float
) -> dict[str, dict[str, object]]:
    """Each video's detail once it is processed or failed; fails naming the videos still unfinished."""
    done: dict[str, dict[str, object]] = {}
    deadline = time.monotonic() + timeout_s
    while True:
        for video_id in video_ids:
            if video_id in done:
                continue
            response = client.get(f"/videos/{video_id}", headers=player.auth)
            assert response.status_code == 200, response.text
            if response.json()["status"] in TERMINAL:
                done[video_id] = response.json()
        waiting = [video_id for video_id in video_ids if video_id not in done]
        if not waiting:
            return done
        assert time.monotonic() < deadline, (
            f"still not processed or failed after {timeout_s:.0f} s: {waiting}"
        )
        time.sleep(0.5)


def assert_settled_well(details: dict[str, dict[str, object]], labels: dict[str, str]) -> None:
    for video_id, detail in details.items():
        if detail["status"] == "failed":
            error = detail.get("error")
            assert isinstance(error, str), f"{labels[video_id]}: failed without a reason"
            assert error.strip(), f"{labels[video_id]}: failed with an empty reason"


def service_pids(launcher_pid: int) -> dict[str, int]:
    """The launcher's service processes by role (gateway, ingest, transcoder-N, moto), pid each: a
    crashed service is restarted by the launcher under a new pid, so equal maps mean no crash."""
    found: dict[str, int] = {}
    transcoders = 0
    for child in psutil.Process(launcher_pid).children():
        line = " ".join(child.cmdline())
        if "anb_transcoder" in line:
            transcoders += 1
            found[f"transcoder-{transcoders}"] = child.pid
        elif "anb_gateway" in line:
            found["gateway"] = child.pid
        elif "anb_ingest" in line:
            found["ingest"] = child.pid
    return found


def secrets_of(devdata: Path) -> dict[str, str]:
    stored: dict[str, str] = json.loads((devdata / "secrets.json").read_text())
    return stored
