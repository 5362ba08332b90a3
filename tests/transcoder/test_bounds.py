"""Every transcode has bounds: the size of a picture the decoder allocates, the pictures a job decodes,
its wall time; and a stop request is heard while pictures are decoded that never reach the encoder."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from anb_common.reasons import ProcessingFailure, Reason
from anb_devstack.brand import ASSETS_DIR
from anb_devstack.clips import make_clip, make_frame_bomb, make_stuck_timestamps, with_sps_size
from anb_transcoder.brand import BrandAssets
from anb_transcoder.pipeline import Cancelled, UnprocessableVideo, transcode
from anb_transcoder.settings import ProcessingSettings

BRAND = BrandAssets(ASSETS_DIR / "logo.png", ASSETS_DIR / "intro.png", ASSETS_DIR / "outro.png")


def _settings(**bounds: float) -> ProcessingSettings:
    return ProcessingSettings(card_s=0.5, **bounds)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bounded")


def test_the_decoder_allocates_no_picture_over_max_pixels(clips: Path, tmp_path: Path) -> None:
    src = make_clip(clips / "360p.mp4", width=640, height=360, seconds=1.0, fps=10)
    # Control: a bound the pictures fit in lets the same file through.
    transcode(src, tmp_path / "fits.mp4", BRAND, _settings(max_pixels=640 * 360))
    with pytest.raises(UnprocessableVideo) as failure:
        transcode(src, tmp_path / "out.mp4", BRAND, _settings(max_pixels=640 * 360 - 1))
    assert failure.value.reason == Reason(ProcessingFailure.DAMAGED)
    assert not (tmp_path / "out.mp4").exists()


# Run in a fresh Python: the transcode's outcome, with how much it grew the process's peak memory.
_TRANSCODE = """
import json, sys
from pathlib import Path
from anb_devstack.brand import ASSETS_DIR
from anb_transcoder.brand import BrandAssets
from anb_transcoder.pipeline import UnprocessableVideo, transcode
from anb_transcoder.settings import ProcessingSettings
def peak_kb():
    return int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
brand = BrandAssets(ASSETS_DIR / "logo.png", ASSETS_DIR / "intro.png", ASSETS_DIR / "outro.png")
settings = ProcessingSettings(card_s=0.5, max_pixels=int(sys.argv[3]))
before = peak_kb()
try:
    transcode(Path(sys.argv[1]), Path(sys.argv[2]), brand, settings)
    code = None
except UnprocessableVideo as exc:
    code = exc.reason.code
print(json.dumps({"code": code, "growth_mb": (peak_kb() - before) / 1024}))
"""


def test_a_picture_declared_past_max_pixels_is_never_allocated(clips: Path, tmp_path: Path) -> None:
    """An SPS that declares 8192x8184 (a 100 MB picture) in a 1080p clip: not even the decoders that
    opening the file runs to read the stream's parameters may allocate it."""
    clip = make_clip(clips / "1080p.mp4", seconds=1.0, fps=2, options={"crf": "51"})
    bomb = tmp_path / "sps.mp4"
    bomb.write_bytes(with_sps_size(clip.read_bytes(), 512, 512))

    def run(max_pixels: int) -> tuple[str | None, float]:
        """(failure code or None, growth of the peak in MB)."""
        argv = [sys.executable, "-c", _TRANSCODE, str(bomb), str(tmp_path / "out.mp4"), str(max_pixels)]
        done = subprocess.run(argv, capture_output=True, text=True, check=True)
        outcome = json.loads(done.stdout.strip().splitlines()[-1])
        return outcome["code"], float(outcome["growth_mb"])

    # Control: with a bound the declared picture fits in, it is decoded, and that shows.
    code, growth_mb = run(8192 * 8184)
    assert code is None
    assert growth_mb > 100
    code, growth_mb = run(ProcessingSettings().max_pixels)
    assert code == ProcessingFailure.DAMAGED
    assert growth_mb < 100


@pytest.mark.parametrize(
    "maker",
    [
        lambda folder: make_frame_bomb(folder / "bomb.mp4", frames=2000, seconds=2.0),
        lambda folder: make_stuck_timestamps(folder / "stuck.mkv", frames=2000),
    ],
    ids=["frame-bomb", "stuck-timestamps"],
)
def test_a_file_of_too_many_pictures_fails_at_the_frame_bound(clips: Path, tmp_path: Path, maker) -> None:  # type: ignore[no-untyped-def]
    src = maker(clips)
    # 30 s of kept footage at 10 pictures a second: 300 pictures, a seventh of the file.
    with pytest.raises(UnprocessableVideo) as failure:
        transcode(src, tmp_path / "out.mp4", BRAND, _settings(max_decoded_fps=10))
    assert failure.value.reason == Reason(ProcessingFailure.TOO_MANY_FRAMES, {"max_frames": 300})
    assert list(tmp_path.iterdir()) == []


def test_a_clip_of_exactly_the_frame_bound_is_processed(clips: Path, tmp_path: Path) -> None:
    src = make_clip(clips / "50.mp4", width=320, height=180, seconds=2.0, fps=25)
    result = transcode(src, tmp_path / "out.mp4", BRAND, _settings(max_output_s=2.0, max_decoded_fps=25))
    assert result.footage_frames == 50


@pytest.fixture(scope="module")
def stuck_1080p(clips: Path) -> Path:
    """20,000 1080p pictures on one timestamp: seconds of decoding, of which only the first picture
    reaches the encoder; the frame bound (7,200 by default) ends it after about a third."""
    return make_stuck_timestamps(clips / "stuck-1080p.mkv", frames=20_000, width=1920, height=1080)


def test_a_stop_is_heard_while_decoding_pictures_that_never_reach_the_encoder(
    stuck_1080p: Path, tmp_path: Path
) -> None:
    stop = threading.Event()
    # The stop comes once the intro card is written, while the decoder works through the pictures.
    with pytest.raises(Cancelled):
        transcode(
            stuck_1080p, tmp_path / "out.mp4", BRAND, _settings(),
            on_progress=lambda _: stop.set(), should_stop=stop.is_set,
        )  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_a_transcode_fails_past_its_wall_time(stuck_1080p: Path, tmp_path: Path) -> None:
    # A frame bound above the file's 20,000 pictures leaves the wall time as the only bound.
    settings = _settings(max_decoded_fps=1000, max_transcode_s=1)
    with pytest.raises(UnprocessableVideo) as failure:
        transcode(stuck_1080p, tmp_path / "out.mp4", BRAND, settings)
    assert failure.value.reason == Reason(ProcessingFailure.TOOK_TOO_LONG, {"max_s": 1.0})
    assert list(tmp_path.iterdir()) == []
