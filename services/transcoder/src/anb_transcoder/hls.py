"""The HLS rendition of a processed MP4: its very packets, cut into fMP4 segments with a VOD playlist
(RFC 8216) by FFmpeg's ``hls`` muxer. Nothing is decoded or encoded: a remux of a 35 s video reads
and writes a few megabytes.

A segment begins at every keyframe. The encoder puts one at the start of each piece (intro card,
footage, outro card) and then every ``KEYFRAME_INTERVAL_S`` (``x264.py``), so segments last that long
except where a piece ends early, and none is longer: the playlist's target duration holds for each.
The playlist names the init segment and the media segments by relative URIs, all in its folder.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from pathlib import Path

import av

PLAYLIST = "index.m3u8"
INIT_SEGMENT = "init.mp4"
_SEGMENTS = "segment-%03d.m4s"


def remux(mp4: Path, folder: Path) -> Path:
    """Write the HLS rendition of ``mp4``'s video into ``folder`` (created); returns the playlist."""
    folder.mkdir(parents=True, exist_ok=True)
    with av.open(str(mp4)) as source:
        stream = source.streams.video[0]
        with av.open(str(folder / PLAYLIST), "w", format="hls", options=_options(folder)) as rendition:
            copy = rendition.add_stream_from_template(stream)
            for packet in source.demux(stream):
                if packet.dts is None:
                    continue  # the demuxer's empty packet at the end
                packet.stream = copy
                rendition.mux(packet)
    return folder / PLAYLIST


def keyframe_gaps(mp4: Path) -> list[Fraction]:
    """Seconds from each keyframe of ``mp4``'s video to the next one (the last to the end): the
    segments a remux would make. Reads the packets only."""
    with av.open(str(mp4)) as source:
        stream = source.streams.video[0]
        time_base = stream.time_base or Fraction(1, 90_000)
        starts: list[int] = []
        end = 0
        for packet in source.demux(stream):
            if packet.pts is None:
                continue
            if packet.is_keyframe:
                starts.append(packet.pts)
            end = max(end, packet.pts + (packet.duration or 0))
    edges = [*sorted(starts), end]
    return [(later - earlier) * time_base for earlier, later in itertools.pairwise(edges)]


def _options(folder: Path) -> dict[str, str]:
    return {
        "hls_segment_type": "fmp4",
        "hls_playlist_type": "vod",
        "hls_list_size": "0",
        "hls_flags": "independent_segments",
        "hls_fmp4_init_filename": INIT_SEGMENT,
        "hls_segment_filename": str(folder / _SEGMENTS),
        # The muxer cuts at the first keyframe past each multiple of hls_time: a time shorter than
        # any frame makes it cut at every keyframe, which is where the encoder planned segments.
        "hls_time": "0.001",
    }
