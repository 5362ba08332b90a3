"""Hostile files uploaded through the API: each ends as a 400 with a detail, or as a video that is
``processed`` or ``failed`` with a reason; never a 500, never a crashed worker, never stuck.

Mutations are applied to a real 1080p 21 s clip at 1 fps (a quarter megabyte), so that the files
ingest accepts cost the workers about a second each.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import httpx
import pytest
from hostile import (
    Player,
    assert_refused_or_accepted,
    assert_settled_well,
    audio_only_mp4,
    boxes,
    ebml_elements,
    empty_track_mp4,
    find_box,
    service_pids,
    set_matroska_pixel_size,
    set_sample_entry_size,
    set_tkhd_size,
    set_vp9_keyframe_size,
    upload,
    wait_terminal,
    with_mdat_damaged,
    with_mdat_truncated,
)
from hostile_fixtures import (  # noqa: F401 - fixtures
    Clips,
    fixture_api,
    fixture_clips,
    fixture_hostile_platform,
    fixture_initial_pids,
    fixture_player,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anb_devstack import invariants
from anb_devstack.clips import make_clip, make_frame_bomb, make_stuck_timestamps, with_sps_size
from anb_devstack.running import RunningPlatform

pytestmark = pytest.mark.slow

# Bounded waits for the worker: far above the seconds these clips take, so only a hang trips them.
SETTLE_S = 240.0


def _size_field(data: bytes, offset: int, value: int) -> bytes:
    return data[:offset] + struct.pack(">I", value) + data[offset + 4 :]


@st.composite
def mp4_mutations(draw: st.DrawFn, data: bytes) -> tuple[str, bytes]:
    """One structural mutation of ``data`` (an MP4), described for the failure message."""
    kind = draw(st.sampled_from(["truncate", "box_size", "after_header", "flip_moov", "junk_moov", "dims"]))
    moov = find_box(data, b"moov")
    if kind == "truncate":
        at = draw(st.integers(0, len(data) - 1))
        return f"truncated at {at}", data[:at]
    if kind == "box_size":
        all_boxes = list(boxes(data))
        box = all_boxes[draw(st.integers(0, len(all_boxes) - 1))]
        value = draw(
            st.sampled_from([0, 1, 7, 8, box.size - 1, box.size + 1, 2**31, 2**32 - 1])
            | st.integers(0, 2**32 - 1)
        )
        return f"{box.kind!r} size {box.size} -> {value}", _size_field(data, box.offset, value)
    if kind == "after_header":
        keep = draw(st.integers(8, 64))
        junk = draw(st.binary(min_size=1, max_size=4096))
        return f"first {keep} bytes then {len(junk)} random bytes", data[:keep] + junk
    if kind == "flip_moov":
        positions = draw(st.lists(st.integers(moov.offset, moov.end - 1), min_size=1, max_size=8))
        out = bytearray(data)
        for at in positions:
            out[at] ^= draw(st.integers(1, 255))
        return f"bytes flipped in the moov at {positions}", bytes(out)
    if kind == "junk_moov":
        start = draw(st.integers(moov.offset, moov.end - 1))
        junk = draw(st.binary(min_size=1, max_size=moov.end - start))
        return f"moov overwritten from {start} with {len(junk)} random bytes", (
            data[:start] + junk + data[start + len(junk) :]
        )
    width, height = draw(st.sampled_from([(0, 0), (1, 1), (65535, 65535), (32768, 1), (1, 32768)]))
    box = draw(st.sampled_from(["tkhd", "avc1"]))
    patch = set_tkhd_size if box == "tkhd" else set_sample_entry_size
    return f"{box} declares {width}x{height}", patch(data, width, height)


@st.composite
def webm_mutations(draw: st.DrawFn, data: bytes) -> tuple[str, bytes]:
    kind = draw(st.sampled_from(["truncate", "element_size", "flip_header"]))
    if kind == "truncate":
        at = draw(st.integers(0, len(data) - 1))
        return f"webm truncated at {at}", data[:at]
    if kind == "element_size":
        elements = list(ebml_elements(data))[:200]
        _element, start, _stop = elements[draw(st.integers(0, len(elements) - 1))]
        # The size vint ends where the payload starts; an 8-byte 0x01 vint can say anything.
        value = draw(st.integers(0, 2**56 - 2))
        return f"webm element size at {start} -> {value}", (
            data[: start - 1] + b"\x01" + value.to_bytes(7, "big") + data[start:]
        )
    positions = draw(st.lists(st.integers(0, min(len(data), 4096) - 1), min_size=1, max_size=8))
    out = bytearray(data)
    for at in positions:
        out[at] ^= draw(st.integers(1, 255))
    return f"webm header bytes flipped at {positions}", bytes(out)


def test_mutated_files_end_refused_or_settled(
    api: httpx.Client,
    player: Player,
    clips: Clips,
) -> None:
    mp4, webm = clips.mp4.read_bytes(), clips.webm.read_bytes()
    accepted: dict[str, str] = {}
    refused = 0

    @settings(
        max_examples=22,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(st.one_of(mp4_mutations(mp4), webm_mutations(webm)))
    def upload_one(case: tuple[str, bytes]) -> None:
        nonlocal refused
        label, data = case
        video_id = assert_refused_or_accepted(upload(api, player, data, title=label[:200]), label)
        if video_id is None:
            refused += 1
        else:
            accepted[video_id] = label

    upload_one()
    details = wait_terminal(api, player, list(accepted), SETTLE_S)
    assert_settled_well(details, accepted)
    print(f"mutations: {refused} refused with 400, {len(accepted)} accepted and settled:")
    for video_id, detail in details.items():
        print(f"  {accepted[video_id]}: {detail['status']} {detail.get('error') or ''}")


def _targeted(clips: Clips, scratch: Path) -> dict[str, tuple[bytes, str]]:
    """label -> (file, expected outcome: "400", "settled" (accepted, then processed or failed with
    a reason) or "any" (either))."""
    mp4, fast, webm = clips.mp4.read_bytes(), clips.faststart_mp4.read_bytes(), clips.webm.read_bytes()
    ftyp = find_box(mp4, b"ftyp")
    return {
        "empty file": (b"", "400"),
        "ftyp box only": (mp4[: ftyp.end], "400"),
        "valid ftyp then 64 KiB of random bytes": (mp4[: ftyp.end] + os.urandom(65536), "400"),
        "EBML magic then random bytes": (b"\x1a\x45\xdf\xa3" + os.urandom(4096), "400"),
        "valid MP4 with only an audio track": (audio_only_mp4(scratch / "audio.mp4"), "400"),
        "valid MP4 whose video track has zero samples": (empty_track_mp4(scratch / "empty.mp4"), "400"),
        # Size 0 means "to the end of the file", which the moov (last) rightly does: a valid file.
        "moov box size 0": (_size_field(mp4, find_box(mp4, b"moov").offset, 0), "any"),
        "moov box size 7": (_size_field(mp4, find_box(mp4, b"moov").offset, 7), "any"),
        "stsz size past the end of the file": (_size_field(mp4, find_box(mp4, b"stsz").offset, 2**31), "400"),
        "VP9 keyframe declares 16384x16384": (set_vp9_keyframe_size(webm, 16384, 16384), "400"),
        # Ingest decodes only the first picture: these pass its probe and reach a worker.
        "mdat zeroed from halfway": (with_mdat_damaged(mp4, 0.5), "settled"),
        "mdat random from halfway": (with_mdat_damaged(mp4, 0.5, os.urandom(4096)), "settled"),
        "mdat zeroed after the first picture": (with_mdat_damaged(mp4, 0.05), "settled"),
        "faststart MP4 with the mdat cut halfway": (with_mdat_truncated(fast, 0.5), "settled"),
        "SPS declares 4096x4096 (slices are 1080p)": (with_sps_size(mp4, 256, 256), "settled"),
        # The largest the H.264 decoder takes (67 Mpixel frames): over 4K, refused from the size the
        # stream declares, with no picture allocated (max_pixels).
        "SPS declares 8192x8184 (slices are 1080p)": (with_sps_size(mp4, 512, 512), "400"),
        "SPS declares 16384x16384": (with_sps_size(mp4, 1024, 1024), "400"),
        "tkhd declares 65535x65535": (set_tkhd_size(mp4, 65535, 65535), "settled"),
        "avc1 declares 65535x65535": (set_sample_entry_size(mp4, 65535, 65535), "settled"),
        "WebM PixelWidth/PixelHeight 65535": (set_matroska_pixel_size(webm, 65535, 65535), "settled"),
        "random bytes after the moov": (mp4 + os.urandom(8192), "settled"),
        # Codecs outside the list: refused from the stream's parameters, before any decoder opens.
        "mpeg4 in a MOV": (_clip(scratch / "mpeg4.mov", codec="mpeg4"), "400"),
        "mjpeg in a MOV": (_clip(scratch / "mjpeg.mov", codec="mjpeg", pix_fmt="yuvj420p"), "400"),
        # Far more pictures than 120 a second: refused by counting packets, never decoding them.
        "20,000 pictures in 30 s (MP4)": (make_frame_bomb(scratch / "bomb.mp4", **BOMB).read_bytes(), "400"),
        "20,000 pictures, timestamps stuck (MKV)": (
            make_stuck_timestamps(scratch / "stuck.mkv", **BOMB).read_bytes(),
            "400",
        ),
    }


BOMB = {"frames": 20_000, "seconds": 30, "width": 1920, "height": 1080}


def _clip(path: Path, codec: str, pix_fmt: str = "yuv420p") -> bytes:
    return make_clip(path, seconds=21, fps=1, codec=codec, pix_fmt=pix_fmt).read_bytes()


def test_targeted_files_end_refused_or_settled(
    hostile_platform: RunningPlatform,
    api: httpx.Client,
    player: Player,
    clips: Clips,
    tmp_path: Path,
) -> None:
    cases = _targeted(clips, tmp_path)
    accepted: dict[str, str] = {}
    for label, (data, expected) in cases.items():
        response = upload(api, player, data, title=label)
        video_id = assert_refused_or_accepted(response, label)
        if expected == "400":
            assert video_id is None, f"{label}: accepted, expected a 400"
        if expected == "settled":
            assert video_id is not None, f"{label}: refused, but it passes ingest's probe"
        if video_id is not None:
            accepted[video_id] = label
    # A valid clip after them all: the workers still take jobs.
    valid = assert_refused_or_accepted(upload(api, player, clips.mp4.read_bytes(), title="valid"), "valid")
    assert valid is not None
    accepted[valid] = "valid clip after the hostile ones"
    details = wait_terminal(api, player, list(accepted), SETTLE_S)
    assert_settled_well(details, accepted)
    assert details[valid]["status"] == "processed"
    for video_id, detail in details.items():
        print(f"{accepted[video_id]}: {detail['status']} {detail.get('error') or ''}")


async def test_no_service_crashed_and_invariants_hold(
    hostile_platform: RunningPlatform,
    initial_pids: dict[str, int],
) -> None:
    assert service_pids(hostile_platform.process.pid) == initial_pids
    scope = invariants.Scope(
        aws=hostile_platform.aws,
        db_url=hostile_platform.db_url,
        temp_dir=hostile_platform.temp_dir,
        spool_dir=hostile_platform.spool_dir,
        # Hostile files may be dead-lettered after repeated failures; each must have told its player
        # why (checked below), which is the outcome the rules ask for.
        allow_dlq=True,
    )
    await invariants.settle(scope, SETTLE_S)
    assert await invariants.check(scope) == []
    assert await invariants.dead_lettered_failures(scope) == []
