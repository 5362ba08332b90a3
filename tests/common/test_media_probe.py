from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from anb_common.media import Container, MediaRejected, probe
from anb_devstack.clips import make_clip


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
