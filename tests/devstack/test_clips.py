from __future__ import annotations

import itertools
from pathlib import Path

import av
import pytest

from anb_devstack.clips import make_clip


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("plain.mp4", {}),
        ("sound.mov", {"audio": True}),
        ("vp9.webm", {"codec": "libvpx-vp9"}),
        ("vfr.mkv", {"vfr": True}),
    ],
)
def test_make_clip_writes_a_real_video(tmp_path: Path, name: str, options: dict[str, object]) -> None:
    clip = make_clip(tmp_path / name, width=160, height=90, seconds=2.0, fps=10, **options)  # type: ignore[arg-type]
    with av.open(str(clip)) as media:
        video = media.streams.video[0]
        frames = list(media.decode(video))
        assert (frames[0].width, frames[0].height) == (160, 90)
        assert len(frames) == 20
        assert bool(media.streams.audio) == bool(options.get("audio"))
        # The picture moves, so encoders get real work.
        assert frames[0].to_ndarray().tobytes() != frames[-1].to_ndarray().tobytes()
        if options.get("vfr"):
            steps = {
                b.pts - a.pts
                for a, b in itertools.pairwise(frames)
                if a.pts is not None and b.pts is not None
            }
            assert len(steps) > 1


def test_rotation_is_written_as_display_matrix(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "r.mp4", width=160, height=90, seconds=0.5, rotate=90)
    with av.open(str(clip)) as media:
        assert next(media.decode(video=0)).rotation == -90
