from __future__ import annotations

import uuid

import pytest

from anb_common.keys import (
    hls_playlist_key,
    poster_key,
    processed_key,
    sprite_key,
    storyboard_key,
    upload_key,
    video_id_from_key,
)

VIDEO = uuid.UUID("12345678-1234-5678-1234-567812345678")


def test_layout() -> None:
    assert upload_key(VIDEO, "mov") == f"uploads/{VIDEO}.mov"
    assert processed_key(VIDEO) == f"processed/{VIDEO}.mp4"
    assert poster_key(VIDEO, 2) == f"processed/{VIDEO}/poster-2.jpg"
    assert storyboard_key(VIDEO) == f"processed/{VIDEO}/storyboard.vtt"
    assert sprite_key(VIDEO) == f"processed/{VIDEO}/sprite.jpg"
    assert hls_playlist_key(VIDEO) == f"processed/{VIDEO}/hls/index.m3u8"


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (f"uploads/{VIDEO}.webm", VIDEO),
        (f"processed/{VIDEO}.mp4", VIDEO),
        (f"processed/{VIDEO}/poster-1.jpg", VIDEO),
        (f"processed/{VIDEO}/hls/seg-00001.m4s", VIDEO),
        ("processed/not-a-uuid/hls/index.m3u8", None),
        ("uploads/", None),
        ("uploads/not-a-uuid.mp4", None),
        ("resources/logo.png", None),
        (f"elsewhere/{VIDEO}.mp4", None),
    ],
)
def test_video_id_from_key(key: str, expected: uuid.UUID | None) -> None:
    assert video_id_from_key(key) == expected
