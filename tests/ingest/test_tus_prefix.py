"""When the first bytes of an upload are enough to probe it (anb_ingest.tus.prefix), read off real
clips: an MP4 with ``moov`` first, one with ``moov`` last, and a WebM."""

from __future__ import annotations

import subprocess
from pathlib import Path

import av
import pytest

from anb_devstack.clips import make_clip
from anb_ingest.tus.prefix import NeedMore, Never, Ready, readiness


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("prefix")
    last = make_clip(folder / "last.mp4", width=320, height=240, seconds=2, fps=5)
    first = folder / "first.mp4"
    argv = ["ffmpeg", "-y", "-loglevel", "error", "-i", str(last), "-c", "copy", "-movflags", "+faststart"]
    subprocess.run([*argv, str(first)], check=True, timeout=60)
    webm = make_clip(folder / "clip.webm", width=320, height=240, seconds=2, fps=5, codec="libvpx-vp9")
    return {name: path.read_bytes() for name, path in (("last", last), ("first", first), ("webm", webm))}


def _probe_reads(prefix: bytes, tmp_path: Path) -> tuple[int, int]:
    """What FFmpeg reads off the prefix alone: the picture size of its first decoded frame."""
    path = tmp_path / "prefix"
    path.write_bytes(prefix)
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


def test_moov_first_is_ready_once_the_first_picture_is_there(clips: dict[str, bytes], tmp_path: Path) -> None:
    data = clips["first"]
    found = readiness(data)
    assert isinstance(found, Ready)
    assert found.duration_known
    assert found.end < len(data)
    # The claim holds: FFmpeg decodes the first picture from exactly that many bytes.
    assert _probe_reads(data[: found.end], tmp_path) == (320, 240)


def test_a_moov_first_prefix_asks_for_what_it_lacks(clips: dict[str, bytes]) -> None:
    data = clips["first"]
    end = readiness(data)
    assert isinstance(end, Ready)
    for cut in (0, 7, 100, end.end - 1):
        found = readiness(data[:cut])
        assert isinstance(found, NeedMore), cut
        assert cut < found.until <= max(end.end, cut + 16)


def test_moov_last_can_only_be_judged_whole(clips: dict[str, bytes]) -> None:
    assert readiness(clips["last"][:4096]) == Never()


def test_webm_is_ready_after_its_first_block(clips: dict[str, bytes], tmp_path: Path) -> None:
    data = clips["webm"]
    found = readiness(data)
    assert isinstance(found, Ready)
    assert found.end < len(data)
    assert _probe_reads(data[: found.end], tmp_path) == (320, 240)


def test_garbage_is_never_ready() -> None:
    # A first "box" of absurd size asks for more than the early check ever reads (it then stops
    # looking, and the whole file decides); a box smaller than its own header is no MP4 at all.
    absurd = readiness(b"\x00\x00\x00\x01garbage" + b"\xff" * 64)
    assert isinstance(absurd, NeedMore)
    assert absurd.until > 2**40
    assert readiness(b"\x00\x00\x00\x04ftyp" + b"\x00" * 64) == Never()
