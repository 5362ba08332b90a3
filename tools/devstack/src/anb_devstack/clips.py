"""Real video clips for tests and benches, made with PyAV; decoder bombs (far more pictures than their
duration holds); and crafted inputs that try to make FFmpeg open another file.

Frames come from FFmpeg's own ``testsrc2`` source plus temporal ``noise`` inside a filter graph, so a
clip costs encoder time only, and the moving, noisy picture gives decoders and encoders realistic work.
"""

from __future__ import annotations

import ctypes
import math
import os
import select
import struct
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.audio.stream import AudioStream
from av.video.stream import VideoStream

# Per-codec defaults that favour generation speed: clips are inputs, not deliverables.
_ENCODER_DEFAULTS: dict[str, dict[str, str]] = {
    "libx264": {"preset": "ultrafast"},
    "libx265": {"preset": "ultrafast", "x265-params": "log-level=error"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8"},
    "libsvtav1": {"preset": "12"},
}

_MUXERS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".avi": "avi"}

_AUDIO_RATE = 48_000
_AUDIO_FRAME = 1024


def make_clip(
    path: Path,
    *,
    width: int = 1920,
    height: int = 1080,
    seconds: float = 3.0,
    fps: int = 10,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    rotate: int | None = None,
    audio: bool = False,
    vfr: bool = False,
    options: Mapping[str, str] | None = None,
) -> Path:
    """Write a clip of ``seconds`` at ``fps`` to ``path`` (container chosen by its suffix).

    ``rotate`` is the phone convention: degrees clockwise a player turns the picture for display
    (a portrait phone recording is stored 1920x1080 with ``rotate=90``); it is written as the
    container's display matrix. ``vfr`` spaces frames unevenly (alternately half and one and a half
    frame periods) so that the stream has a variable frame rate with ``fps`` as its average.
    """
    muxer = _MUXERS.get(path.suffix.lower())
    if muxer is None:
        raise ValueError(f"no muxer for {path.suffix!r}")
    count = max(1, round(seconds * fps))
    with av.open(str(path), "w", format=muxer) as out:
        video = out.add_stream(codec, rate=fps)
        assert isinstance(video, VideoStream)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        video.codec_context.time_base = Fraction(1, fps * 2)
        video.options = {**_ENCODER_DEFAULTS.get(codec, {}), **(options or {})}
        if rotate:
            video.set_display_rotation(-rotate)
        sound = _add_audio(out) if audio else None
        pts = 0
        for index, frame in enumerate(_pictures(width, height, fps, count, pix_fmt)):
            frame.pts = pts
            frame.time_base = video.codec_context.time_base
            pts += (1 if index % 2 == 0 else 3) if vfr else 2
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if sound is not None:
            _write_tone(out, sound, count / fps)
    return path


def _pictures(width: int, height: int, fps: int, count: int, pix_fmt: str) -> Iterator[av.VideoFrame]:
    graph = av.filter.Graph()
    # testsrc2 needs an even-sized canvas for its 4:2:0 output; odd sizes are cropped afterwards.
    src = graph.add("testsrc2", f"size={width + width % 2}x{height + height % 2}:rate={fps}")
    chain = [
        src,
        graph.add("noise", "alls=6:allf=t"),
        graph.add("crop", f"{width}:{height}:0:0"),
        graph.add("format", pix_fmt),
        graph.add("buffersink"),
    ]
    graph.link_nodes(*chain).configure()
    for _ in range(count):
        frame = graph.vpull()
        frame.pict_type = av.video.frame.PictureType.NONE
        yield frame


def _add_audio(out: av.container.OutputContainer) -> AudioStream:
    sound = out.add_stream("aac", rate=_AUDIO_RATE)
    assert isinstance(sound, AudioStream)
    sound.layout = "stereo"
    return sound


def _write_tone(out: av.container.OutputContainer, sound: AudioStream, seconds: float) -> None:
    total = int(seconds * _AUDIO_RATE)
    for start in range(0, total, _AUDIO_FRAME):
        t = (np.arange(start, start + _AUDIO_FRAME) / _AUDIO_RATE).astype(np.float32)
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.stack([tone, tone]), format="fltp", layout="stereo")
        frame.sample_rate = _AUDIO_RATE
        frame.pts = start
        out.mux(sound.encode(frame))
    out.mux(sound.encode(None))


# --- decoder bombs ----------------------------------------------------------------------------
# Files that cost a decoder far more than their size or duration says. Each holds one H.264 picture:
# a keyframe, then the same skipped P frame (a few dozen bytes) over and over, so that a file of
# millions of pictures is written in seconds while a decoder still works through every one of them.


def make_frame_bomb(path: Path, *, frames: int, seconds: float, width: int = 64, height: int = 64) -> Path:
    """``frames`` pictures whose timestamps spread evenly over ``seconds`` (MP4, MOV or Matroska by
    suffix): far more pictures than any camera takes in that time."""
    # Ticks fine enough that every picture has a timestamp of its own (MP4 requires it).
    per_second = max(1000, math.ceil(frames / seconds))
    total = math.ceil(seconds * per_second)
    return _repeated_picture(
        path, frames, width, height, Fraction(1, per_second), lambda index: index * total // frames
    )


def make_stuck_timestamps(
    path: Path, *, frames: int, width: int = 64, height: int = 64, seconds: float = 0.0
) -> Path:
    """``frames`` pictures that all carry the first one's timestamp; with ``seconds``, the last one
    sits that far in, so that the file lasts that long. Matroska stores timestamps that do not
    advance as they are (MP4's muxer refuses them), so ``path`` should end in ``.mkv``."""
    last = round(seconds * 1000)
    return _repeated_picture(
        path, frames, width, height, Fraction(1, 1000), lambda index: last if index == frames - 1 else 0
    )


def _repeated_picture(
    path: Path, frames: int, width: int, height: int, time_base: Fraction, timestamp: Callable[[int], int]
) -> Path:
    muxer = _MUXERS.get(path.suffix.lower())
    if muxer is None:
        raise ValueError(f"no muxer for {path.suffix!r}")
    with av.open(str(path), "w", format=muxer) as out:
        stream = out.add_stream("libx264", rate=30)
        assert isinstance(stream, VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = time_base
        # No B-frames: decode order is display order, so each packet's timestamps are its own.
        stream.options = {"preset": "ultrafast", "bframes": "0", "x264-params": "scenecut=0"}
        picture = av.VideoFrame(width, height, "yuv420p")
        for plane in picture.planes:
            plane.update(bytes([128]) * plane.buffer_size)
        picture.pts, picture.time_base = 0, time_base
        encoded = stream.encode(picture)
        picture.pts = 1
        encoded += stream.encode(picture)
        encoded += stream.encode(None)
        keyframe, skipped = bytes(encoded[0]), bytes(encoded[1])
        for index in range(frames):
            packet = av.Packet(keyframe if index == 0 else skipped)
            packet.pts = packet.dts = timestamp(index)
            packet.time_base = time_base
            packet.is_keyframe = index == 0
            packet.stream = stream
            out.mux(packet)
    return path


# --- crafted inputs ---------------------------------------------------------------------------


def hls_playlist(target: Path) -> bytes:
    """An HLS playlist whose only segment is ``target``: FFmpeg's hls demuxer would open it."""
    return (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:10\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:10.0,\nfile://{target}\n#EXT-X-ENDLIST\n"
    ).encode()


def make_hls_bait(path: Path, target: Path) -> Path:
    """An HLS playlist naming ``target``, saved under a video-looking name such as ``x.mp4``."""
    path.write_bytes(hls_playlist(target))
    return path


def make_avi_hls_bait(path: Path, target: Path) -> Path:
    """The classic "AVI with an HLS playlist inside" upload: a RIFF/AVI header whose first chunk is a
    playlist naming ``target``, which a probing FFmpeg may take for HLS."""
    playlist = hls_playlist(target)
    chunk = b"LIST" + struct.pack("<I", len(playlist)) + playlist
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"AVI " + chunk)
    return path


def make_mov_dref_bait(path: Path, target: Path) -> Path:
    """A real MOV whose video track's data lives in ``target``, named by a QuickTime alias (``alis``)
    data reference with an absolute path: FFmpeg reads the samples from ``target`` if drefs are on."""
    make_clip(path, width=64, height=64, seconds=0.5)
    data = bytearray(path.read_bytes())
    chain = _box_chain(data, [b"moov", b"trak", b"mdia", b"minf", b"dinf", b"dref"])
    dref_at = chain[-1][0]
    entry_at = dref_at + 16  # after the box header, version/flags and the entry count
    (old_size,) = struct.unpack_from(">I", data, entry_at)
    entry = _alias_entry(target)
    data[entry_at : entry_at + old_size] = entry
    # The muxer put moov after mdat, so growing moov moves no sample offsets.
    for at, size in chain:
        struct.pack_into(">I", data, at, size + len(entry) - old_size)
    path.write_bytes(bytes(data))
    return path


def _box_chain(
    data: bytes | bytearray, names: list[bytes], start: int = 0, end: int | None = None
) -> list[tuple[int, int]]:
    """(offset, size) of each box along the path ``names``, outermost first."""
    end = len(data) if end is None else end
    at = start
    while at + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, at)
        if kind == names[0]:
            if len(names) == 1:
                return [(at, size)]
            return [(at, size), *_box_chain(data, names[1:], at + 8, at + size)]
        at += max(size, 8)
    raise ValueError(f"no {names[0]!r} box")


def _alias_entry(target: Path) -> bytes:
    """A Mac alias record as FFmpeg's mov demuxer parses it: fixed fields, then typed records, of
    which type 2 is the absolute path."""
    path = str(target).encode()
    records = struct.pack(">hH", 2, len(path)) + path + b"\0" * (len(path) % 2) + struct.pack(">hH", -1, 0)
    name = target.name.encode()[:63]
    fixed = (
        bytes(10) + bytes([0]) + bytes(27)  # volume name: none
        + bytes(12) + bytes([len(name)]) + name.ljust(63, b"\0")
        + bytes(16) + struct.pack(">HH", 0, 0) + bytes(16)  # no relative levels: absolute path only
    )  # fmt: skip
    return struct.pack(">I4sI", 12 + len(fixed) + len(records), b"alis", 0) + fixed + records


# --- H.264 SPS surgery ------------------------------------------------------------------------


def with_sps_size(data: bytes, width_mbs: int, height_map_units: int) -> bytes:
    """An MP4 made by ``make_clip`` (moov after mdat) whose H.264 SPS tells the decoder the picture is
    that many macroblocks wide and map units high (16 pixels each, less the clip's own cropping: 512
    by 512 declares 8192x8184 for a 1080p clip), while the slices still describe the real picture."""
    out = bytearray(data)
    chain = _box_chain(out, [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"stsd"])
    stsd_at, stsd_size = chain[-1]
    # stsd: header, version and flags, entry count; then the avc1 entry, whose avcC follows its fields.
    avc1_at = stsd_at + 16
    avcc_at = out.index(b"avcC", avc1_at, stsd_at + stsd_size) - 4
    (avcc_size,) = struct.unpack_from(">I", out, avcc_at)
    payload = bytes(out[avcc_at + 8 : avcc_at + avcc_size])
    (sps_len,) = struct.unpack_from(">H", payload, 6)
    sps = _patched_sps(payload[8 : 8 + sps_len], width_mbs, height_map_units)
    new_payload = payload[:6] + struct.pack(">H", len(sps)) + sps + payload[8 + sps_len :]
    grown = len(new_payload) - len(payload)
    out[avcc_at + 8 : avcc_at + avcc_size] = new_payload
    # Every enclosing box grows by as much (nothing after the moov is addressed by offset).
    for at in [*(at for at, _ in chain), avc1_at, avcc_at]:
        (size,) = struct.unpack_from(">I", out, at)
        struct.pack_into(">I", out, at, size + grown)
    return bytes(out)


def _unescape(nal: bytes) -> bytes:
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


def _escape(rbsp: bytes) -> bytes:
    out = bytearray()
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


class _Bits:
    def __init__(self, data: bytes) -> None:
        self.bits = "".join(f"{byte:08b}" for byte in data)
        self.at = 0

    def u(self, n: int) -> int:
        value = int(self.bits[self.at : self.at + n], 2) if n else 0
        self.at += n
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bits[self.at] == "0":
            zeros += 1
            self.at += 1
        return self.u(zeros + 1) - 1


def _ue_bits(value: int) -> str:
    code = f"{value + 1:b}"
    return "0" * (len(code) - 1) + code


_HIGH_PROFILES = {100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135}


def _patched_sps(sps: bytes, width_mbs: int, height_map_units: int) -> bytes:
    rbsp = _unescape(sps)
    bits = _Bits(rbsp)
    bits.u(8)  # NAL header
    profile = bits.u(8)
    bits.u(16)  # constraint flags, level
    bits.ue()  # seq_parameter_set_id
    if profile in _HIGH_PROFILES:
        if bits.ue() == 3:  # chroma_format_idc
            bits.u(1)
        bits.ue()
        bits.ue()
        bits.u(1)
        if bits.u(1):
            raise ValueError("SPS with scaling matrices: not supported by this patcher")
    bits.ue()  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        raise ValueError("pic_order_cnt_type 1: not supported by this patcher")
    bits.ue()  # max_num_ref_frames
    bits.u(1)  # gaps_in_frame_num_allowed
    start = bits.at
    bits.ue()
    bits.ue()
    rest = bits.bits[bits.at :].rstrip("0")  # ends with the rbsp stop bit
    body = bits.bits[:start] + _ue_bits(width_mbs - 1) + _ue_bits(height_map_units - 1) + rest
    body += "0" * (-len(body) % 8)
    return _escape(int(body, 2).to_bytes(len(body) // 8, "big"))


_IN_ACCESS = 0x00000001
_IN_OPEN = 0x00000020
_EVENT = struct.Struct("iIII")


@contextmanager
def watch_opens(target: Path) -> Iterator[list[str]]:
    """Record (after the block) every open or read of ``target`` by anyone, through inotify.

    Yields a list that is filled on exit with ``"open"``/``"access"`` entries; an empty list proves
    the file was never opened. inotify sees kernel events, so it works whatever opens the file.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1 failed")
    events: list[str] = []
    try:
        if libc.inotify_add_watch(fd, str(target).encode(), _IN_OPEN | _IN_ACCESS) < 0:
            raise OSError(ctypes.get_errno(), f"cannot watch {target}")
        yield events
        while select.select([fd], [], [], 0)[0]:
            data = os.read(fd, 4096)
            offset = 0
            while offset < len(data):
                _wd, mask, _cookie, name_len = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size + name_len
                if mask & _IN_OPEN:
                    events.append("open")
                if mask & _IN_ACCESS:
                    events.append("access")
    finally:
        os.close(fd)
