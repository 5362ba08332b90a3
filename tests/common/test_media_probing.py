from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from anb_common.media import Container, MediaRejected, probe
from anb_devstack.clips import make_clip, make_frame_bomb, make_stuck_timestamps, with_sps_size


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("a.mp4", {}, (Container.MP4, "h264", 320, 240, 0, "yuv420p")),
        ("a.mov", {"pix_fmt": "yuv444p"}, (Container.MOV, "h264", 320, 240, 0, "yuv444p")),
        (
            "a.mkv",
            {"codec": "libx265", "pix_fmt": "yuv420p10le"},
            (Container.MKV, "hevc", 320, 240, 0, "yuv420p10le"),
        ),
        (
            "a.webm",
            {"codec": "libvpx-vp9", "width": 321, "height": 241},
            (Container.WEBM, "vp9", 321, 241, 0, "yuv420p"),
        ),
        ("b.mp4", {"codec": "libsvtav1"}, (Container.MP4, "av1", 320, 240, 0, "yuv420p")),
        ("r.mp4", {"rotate": 90}, (Container.MP4, "h264", 320, 240, 90, "yuv420p")),
        ("r.mov", {"rotate": 270}, (Container.MOV, "h264", 320, 240, 270, "yuv420p")),
    ],
)
def test_probe_reports_the_facts(
    tmp_path: Path, name: str, options: dict[str, object], expected: tuple[object, ...]
) -> None:
    clip = make_clip(tmp_path / name, **{"width": 320, "height": 240, "seconds": 1.0, **options})  # type: ignore[arg-type]
    facts = probe(clip)
    assert (
        facts.container,
        facts.codec,
        facts.width,
        facts.height,
        facts.rotation,
        facts.pix_fmt,
    ) == expected
    assert facts.duration_s == pytest.approx(1.0, abs=0.15)
    assert facts.fps == Fraction(10)


def test_audio_only_file_has_no_video_stream(tmp_path: Path) -> None:
    path = tmp_path / "sound.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=48000)
        assert isinstance(stream, av.audio.stream.AudioStream)
        for index in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, index * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    with pytest.raises(MediaRejected) as rejected:
        probe(path)
    assert rejected.value.rule == "no_video_stream"


# --- what runs before the checks ------------------------------------------------------------------

# An interposer on FFmpeg's avcodec_open2 that appends "<codec> <result>" to $DECODER_OPENS for every
# codec context opened in the process: the decoders av.open's stream-info step opens, and PyAV's.
# PyAV loads libavcodec privately (RTLD_LOCAL), so the real function is looked up in that library.
_OPENS_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
struct codec_head { const char *name; };  /* AVCodec starts with its name */
typedef int (*open_fn)(void *, const struct codec_head *, void **);
static int find(struct dl_phdr_info *info, size_t size, void *out) {
    (void)size;
    if (!strstr(info->dlpi_name, "libavcodec")) return 0;
    *(const char **)out = info->dlpi_name;
    return 1;
}
int avcodec_open2(void *ctx, const struct codec_head *codec, void **options) {
    static open_fn real;
    if (!real) {
        const char *lib = NULL;
        dl_iterate_phdr(find, &lib);
        void *handle = lib ? dlopen(lib, RTLD_NOW | RTLD_NOLOAD) : NULL;
        real = handle ? (open_fn)dlsym(handle, "avcodec_open2") : NULL;
        if (!real) abort();
    }
    int result = real(ctx, codec, options);
    char line[256];
    int n = snprintf(line, sizeof line, "%s %d\n", codec ? codec->name : "?", result);
    int fd = open(getenv("DECODER_OPENS"), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) { if (write(fd, line, n) < 0) {} close(fd); }
    return result;
}
"""

# Run in a child: the outcome of probe() as JSON, with the growth of the child's peak memory.
_PROBE = """
import json, sys
from pathlib import Path
from anb_common.media import MediaRejected, probe
def peak_kb():
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
before = peak_kb()
try:
    facts = probe(Path(sys.argv[1]))
    outcome = {"code": None, "width": facts.width, "height": facts.height}
except MediaRejected as exc:
    outcome = {"code": exc.reason.code, "values": exc.reason.values}
outcome["growth_mb"] = (peak_kb() - before) / 1024
print(json.dumps(outcome))
"""

# Control: what PyAV does when asked to decode the file (what probe did before it checked first).
_DECODE = """
import json, sys
import av
def peak_kb():
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
before = peak_kb()
with av.open(sys.argv[1]) as media:
    frame = next(media.decode(video=0))
print(json.dumps({"width": frame.width, "height": frame.height, "growth_mb": (peak_kb() - before) / 1024}))
"""


@dataclass(frozen=True)
class Run:
    outcome: dict[str, Any]
    opened: list[tuple[str, int]]
    """(codec, avcodec_open2's result) per codec context opened: >= 0 opened, < 0 refused."""

    def decoders_opened(self) -> list[str]:
        return [name for name, result in self.opened if result >= 0]


@pytest.fixture(scope="module")
def run_watched(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, Path], Run]:
    """Run ``code`` on a file in a fresh Python, every codec context it opens recorded by the shim."""
    compiler = shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler to build the avcodec_open2 interposer")
    folder = tmp_path_factory.mktemp("shim")
    (folder / "shim.c").write_text(_OPENS_SHIM)
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-O2", "-o", folder / "shim.so", folder / "shim.c", "-ldl"], check=True
    )

    def run(code: str, path: Path) -> Run:
        log = folder / f"opens-{uuid.uuid4().hex}"
        env = {**os.environ, "LD_PRELOAD": str(folder / "shim.so"), "DECODER_OPENS": str(log)}
        done = subprocess.run(
            [sys.executable, "-c", code, str(path)], env=env, capture_output=True, text=True, check=True
        )
        lines = log.read_text().split() if log.exists() else []
        opened = [(lines[i], int(lines[i + 1])) for i in range(0, len(lines), 2)]
        return Run(json.loads(done.stdout.strip().splitlines()[-1]), opened)

    return run


# What av.open itself opens on an H.264 file: its stream-info step reads the first packets with the
# (accepted, bounded) decoder to learn the picture's size. A probe that goes on to decode opens a
# second one; a probe that refuses first does not.
STREAM_INFO_ONLY = ["h264"]


def test_the_shim_sees_the_decoders_probe_opens(
    run_watched: Callable[[str, Path], Run], tmp_path: Path
) -> None:
    """Control for the tests below: the shim sees both decoders a probe of an accepted file opens."""
    clip = make_clip(tmp_path / "ok.mov", width=64, height=64, seconds=1.0)
    run = run_watched(_PROBE, clip)
    assert run.outcome["code"] is None
    assert run.decoders_opened() == ["h264", "h264"]


@pytest.mark.parametrize(
    ("codec", "pix_fmt"), [("mpeg4", "yuv420p"), ("mjpeg", "yuvj420p"), ("jpeg2000", "yuv420p")]
)
def test_a_codec_we_refuse_never_reaches_a_decoder(
    run_watched: Callable[[str, Path], Run], tmp_path: Path, codec: str, pix_fmt: str
) -> None:
    clip = make_clip(tmp_path / "clip.mov", width=64, height=64, seconds=1.0, codec=codec, pix_fmt=pix_fmt)
    # Control: decoding the file with PyAV opens that decoder, and the shim sees it.
    assert codec in run_watched(_DECODE, clip).decoders_opened()
    run = run_watched(_PROBE, clip)
    assert run.outcome["code"] == "codec"
    assert run.outcome["values"] == {"codec": codec}
    assert run.decoders_opened() == []


def test_a_picture_declared_past_the_bound_is_refused_before_it_is_decoded(
    run_watched: Callable[[str, Path], Run], tmp_path: Path
) -> None:
    clip = make_clip(tmp_path / "1080p.mp4", seconds=1.0, fps=2, options={"crf": "51"})
    bomb = tmp_path / "sps.mp4"
    bomb.write_bytes(with_sps_size(clip.read_bytes(), 512, 512))
    # Control: decoded without a bound, the first picture alone costs well over 100 MB.
    decoded = run_watched(_DECODE, bomb).outcome
    assert (decoded["width"], decoded["height"]) == (8192, 8184)
    assert decoded["growth_mb"] > 100
    run = run_watched(_PROBE, bomb)
    assert (run.outcome["code"], run.outcome["values"]) == (
        "resolution",
        {"width": 8192, "height": 8184, "max_long_side_px": 4096},
    )
    assert run.outcome["growth_mb"] < 100
    assert run.decoders_opened() == STREAM_INFO_ONLY


BOMB = {"frames": 20_000, "seconds": 30, "width": 1920, "height": 1080}


@pytest.mark.parametrize(
    ("name", "make", "fps"),
    [
        # MP4 states its frame count: the rate is exact.
        ("bomb.mp4", make_frame_bomb, 666.0),
        # Matroska does not: pictures are counted (demuxed, never decoded) up to twice the bound.
        ("bomb.mkv", make_frame_bomb, 240.0),
        ("stuck.mkv", make_stuck_timestamps, 240.0),
    ],
)
def test_more_pictures_than_the_frame_rate_allows_are_refused_before_decoding(
    run_watched: Callable[[str, Path], Run],
    tmp_path: Path,
    name: str,
    make: Callable[..., Path],
    fps: float,
) -> None:
    run = run_watched(_PROBE, make(tmp_path / name, **BOMB))
    assert run.outcome["code"] == "frame_rate"
    assert run.outcome["values"] == {"fps": pytest.approx(fps, abs=1), "max_fps": 120}
    assert run.decoders_opened() == STREAM_INFO_ONLY
