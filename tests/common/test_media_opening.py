"""A crafted upload must never make FFmpeg open another file: proven with inotify on the target."""

from __future__ import annotations

import shutil
from pathlib import Path

import av
import pytest

from anb_common.media import Container, MediaRejected, probe, safe_open
from anb_devstack.clips import make_avi_hls_bait, make_clip, make_hls_bait, make_mov_dref_bait, watch_opens


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real, playable segment (``.ts`` is among the extensions hls segments may have)."""
    folder = tmp_path_factory.mktemp("target")
    clip = make_clip(folder / "secret.mp4", width=64, height=64, seconds=0.5)
    return Path(shutil.copy(clip, folder / "secret.ts"))


def test_bait_does_reach_its_target_without_protection(tmp_path: Path, target: Path) -> None:
    """Control: the playlist and the watch are real, so the empty-watch results below mean something."""
    bait = make_hls_bait(tmp_path / "clip.mp4", target)
    with (
        watch_opens(target) as events,
        av.open(str(bait), format="hls", options={"protocol_whitelist": "file"}),
    ):
        pass
    assert "open" in events


@pytest.mark.parametrize("maker", [make_hls_bait, make_avi_hls_bait])
def test_crafted_files_are_rejected_and_never_open_the_target(tmp_path: Path, target: Path, maker) -> None:  # type: ignore[no-untyped-def]
    bait = maker(tmp_path / "clip.mp4", target)
    with watch_opens(target) as events, pytest.raises(MediaRejected) as rejected:
        probe(bait)
    assert rejected.value.rule == "not_a_video"
    assert events == []


def test_mov_data_reference_is_never_followed(tmp_path: Path) -> None:
    target = make_clip(tmp_path / "elsewhere.mov", width=64, height=64, seconds=0.5)
    bait = make_mov_dref_bait(tmp_path / "clip.mov", target)
    # Control: with data references allowed, FFmpeg reads the other file's pictures.
    allowed = {"enable_drefs": "1", "use_absolute_path": "1"}
    with watch_opens(target) as events, av.open(str(bait), format="mov", options=allowed) as media:
        assert sum(1 for _ in media.decode(video=0)) > 0
    assert "open" in events
    with watch_opens(target) as events, pytest.raises(MediaRejected) as rejected:
        probe(bait)
    assert rejected.value.rule == "undecodable"
    assert events == []


@pytest.mark.parametrize("container", [Container.MP4, Container.MOV, Container.MKV])
def test_pinned_demuxer_refuses_a_playlist_even_when_told_it_is_a_video(
    tmp_path: Path, target: Path, container: Container
) -> None:
    bait = make_hls_bait(tmp_path / "clip.bin", target)
    with watch_opens(target) as events, pytest.raises(MediaRejected):
        safe_open(bait, container)
    assert events == []


def test_name_that_looks_like_a_url_is_read_as_a_local_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    clip = make_clip(tmp_path / "c.mp4", width=64, height=64, seconds=0.5)
    (tmp_path / "http:").mkdir()
    looks_like_url = Path("http:") / "c.mp4"
    shutil.copy(clip, looks_like_url)
    with safe_open(looks_like_url) as media:
        assert media.streams.video[0].width == 64


def test_garbage_is_not_a_video(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypisom" + bytes(range(256)) * 40)
    with pytest.raises(MediaRejected) as rejected:
        probe(junk)
    assert rejected.value.rule in {"not_a_video", "no_video_stream", "undecodable"}
