"""Finding and replacing the URIs inside a playlist and a storyboard, as the transcoder writes them."""

from __future__ import annotations

import pytest

from anb_gateway import media_rewrite

PLAYLIST = """#EXTM3U
#EXT-X-VERSION:7
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-INDEPENDENT-SEGMENTS
#EXT-X-MAP:URI="init.mp4"
#EXTINF:2.000000,
segment-000.m4s
#EXTINF:0.500000,
segment-001.m4s
#EXT-X-ENDLIST
"""

STORYBOARD = """WEBVTT

00:00:00.000 --> 00:00:01.000
sprite.jpg#xywh=0,0,160,90

cue-2
00:00:01.000 --> 00:00:01.500
sprite.jpg#xywh=160,0,160,90
"""

LINKS = {
    "init.mp4": "https://s3.example/init?sig=1&x=2",
    "segment-000.m4s": "https://s3.example/seg0?sig=3",
    "segment-001.m4s": "https://s3.example/seg1?sig=4",
    "sprite.jpg": "https://s3.example/sprite?sig=5",
}


def test_a_playlist_s_uris_are_its_init_and_segments_in_order() -> None:
    assert media_rewrite.playlist_uris(PLAYLIST) == ["init.mp4", "segment-000.m4s", "segment-001.m4s"]


def test_a_rewritten_playlist_keeps_every_tag_and_replaces_every_uri() -> None:
    rewritten = media_rewrite.rewrite_playlist(PLAYLIST, LINKS)
    assert rewritten.splitlines() == [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        "#EXT-X-TARGETDURATION:2",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        '#EXT-X-MAP:URI="https://s3.example/init?sig=1&x=2"',
        "#EXTINF:2.000000,",
        "https://s3.example/seg0?sig=3",
        "#EXTINF:0.500000,",
        "https://s3.example/seg1?sig=4",
        "#EXT-X-ENDLIST",
    ]


def test_a_storyboard_s_uri_is_its_sprite_once() -> None:
    assert media_rewrite.storyboard_uris(STORYBOARD) == ["sprite.jpg"]


def test_a_rewritten_storyboard_keeps_cues_identifiers_and_fragments() -> None:
    rewritten = media_rewrite.rewrite_storyboard(STORYBOARD, LINKS)
    assert rewritten.splitlines() == [
        "WEBVTT",
        "",
        "00:00:00.000 --> 00:00:01.000",
        "https://s3.example/sprite?sig=5#xywh=0,0,160,90",
        "",
        "cue-2",
        "00:00:01.000 --> 00:00:01.500",
        "https://s3.example/sprite?sig=5#xywh=160,0,160,90",
    ]


@pytest.mark.parametrize(
    ("uri", "key"),
    [
        ("init.mp4", "processed/v/hls/init.mp4"),
        ("segment-012.m4s", "processed/v/hls/segment-012.m4s"),
    ],
)
def test_a_uri_names_a_file_beside_the_text(uri: str, key: str) -> None:
    assert media_rewrite.key_beside("processed/v/hls/index.m3u8", uri) == key


@pytest.mark.parametrize(
    "uri",
    ["../poster-0.jpg", "/etc/passwd", "https://elsewhere.example/x.m4s", "sub/segment.m4s", ".hidden", ""],
)
def test_anything_but_a_file_beside_the_text_is_refused(uri: str) -> None:
    with pytest.raises(ValueError, match="not a file beside it"):
        media_rewrite.key_beside("processed/v/hls/index.m3u8", uri)
