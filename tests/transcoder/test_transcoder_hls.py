"""The HLS rendition (anb_transcoder.hls): a valid VOD playlist of fMP4 segments of about 2 s, each
starting on a keyframe, that add up to the MP4 and decode to its very frames (a remux, no encode)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import av
import m3u8
import pytest
from derivativekit import BRAND, texture, write_clip

from anb_transcoder.hls import INIT_SEGMENT, PLAYLIST, keyframe_gaps
from anb_transcoder.pipeline import TranscodeResult, transcode
from anb_transcoder.settings import ProcessingSettings
from anb_transcoder.x264 import KEYFRAME_INTERVAL_S

FPS = 25


@pytest.fixture(scope="module")
def job(tmp_path_factory: pytest.TempPathFactory) -> tuple[TranscodeResult, Path]:
    """7 s of footage between the cards (62 frames each, 2.48 s): keyframes at 0, 2 s; 2.48, 4.48,
    6.48, 8.48 s; 9.48, 11.48 s; the end at 11.96 s."""
    folder = tmp_path_factory.mktemp("hls")
    pictures = [texture(index // 5, 640, 360, block=32) for index in range(7 * FPS)]
    src = write_clip(folder / "src.mp4", pictures, FPS)
    dst = folder / "out.mp4"
    return transcode(src, dst, BRAND, ProcessingSettings(), derivatives=folder / "derivatives"), dst


def _playlist(result: TranscodeResult) -> m3u8.M3U8:
    assert result.derivatives is not None
    return m3u8.load(str(result.derivatives.playlist))


def _frame_hashes(source: str | Path) -> list[str]:
    with av.open(str(source)) as media:
        return [hashlib.sha256(frame.to_ndarray().tobytes()).hexdigest() for frame in media.decode(video=0)]


def _duration_s(mp4: Path) -> float:
    with av.open(str(mp4)) as media:
        stream = media.streams.video[0]
        assert stream.duration is not None
        assert stream.time_base is not None
        return float(stream.duration * stream.time_base)


def test_the_playlist_is_a_vod_playlist_of_fmp4_segments(job: tuple[TranscodeResult, Path]) -> None:
    result, _ = job
    playlist = _playlist(result)
    assert result.derivatives is not None
    folder = result.derivatives.playlist.parent
    assert result.derivatives.playlist.name == PLAYLIST
    assert playlist.is_endlist
    assert playlist.playlist_type == "vod"
    assert playlist.is_independent_segments
    assert [segment_map.uri for segment_map in playlist.segment_map] == [INIT_SEGMENT]
    uris = [segment.uri for segment in playlist.segments]
    # Relative names in the playlist's folder, and nothing else there.
    assert all("/" not in uri for uri in uris)
    assert sorted(path.name for path in folder.iterdir()) == sorted([PLAYLIST, INIT_SEGMENT, *uris])
    assert playlist.target_duration == KEYFRAME_INTERVAL_S
    durations = [segment.duration for segment in playlist.segments]
    assert all(0 < duration <= KEYFRAME_INTERVAL_S for duration in durations)
    # Segments of 2 s but where a piece ends: the cards' last 0.48 s, the footage's last second.
    assert durations == pytest.approx([2, 0.48, 2, 2, 2, 1, 2, 0.48])


def test_segments_add_up_to_the_mp4_and_each_starts_on_a_keyframe(job: tuple[TranscodeResult, Path]) -> None:
    result, dst = job
    playlist = _playlist(result)
    assert result.derivatives is not None
    folder = result.derivatives.playlist.parent
    assert sum(segment.duration for segment in playlist.segments) == pytest.approx(_duration_s(dst), abs=0.1)
    init = (folder / INIT_SEGMENT).read_bytes()
    for segment in playlist.segments:
        alone = folder / f"alone-{segment.uri}.mp4"
        alone.write_bytes(init + (folder / segment.uri).read_bytes())
        try:
            with av.open(str(alone)) as media:
                assert next(media.demux(video=0)).is_keyframe, segment.uri
            # Decodable alone, every frame: the segment needs nothing before it.
            assert len(_frame_hashes(alone)) == round(segment.duration * FPS)
        finally:
            alone.unlink()


def test_the_segments_decode_to_the_mp4_s_very_frames(
    job: tuple[TranscodeResult, Path], tmp_path: Path
) -> None:
    result, dst = job
    playlist = _playlist(result)
    assert result.derivatives is not None
    folder = result.derivatives.playlist.parent
    joined = tmp_path / "joined.mp4"
    joined.write_bytes(
        (folder / INIT_SEGMENT).read_bytes()
        + b"".join((folder / segment.uri).read_bytes() for segment in playlist.segments)
    )
    expected = _frame_hashes(dst)
    assert len(expected) == round(result.duration_s * FPS)
    assert _frame_hashes(joined) == expected
    # Through the playlist, as a player reads it.
    assert _frame_hashes(result.derivatives.playlist) == expected


def test_keyframe_gaps_are_the_segments_a_remux_makes(job: tuple[TranscodeResult, Path]) -> None:
    result, dst = job
    playlist = _playlist(result)
    assert [float(gap) for gap in keyframe_gaps(dst)] == pytest.approx(
        [segment.duration for segment in playlist.segments]
    )
