from __future__ import annotations

import pytest

from anb_common.media import Container, sniff


def _ebml(doctype: bytes) -> bytes:
    body = b"\x42\x86\x81\x01" + b"\x42\x82" + bytes([0x80 | len(doctype)]) + doctype
    return b"\x1a\x45\xdf\xa3" + bytes([0x80 | len(body)]) + body


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41", Container.MP4),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", Container.MP4),
        (b"\x00\x00\x00\x1cftypM4V \x00\x00\x00\x01M4V M4A ", Container.MP4),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  ", Container.MOV),
        (b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat", Container.MOV),
        (_ebml(b"webm"), Container.WEBM),
        (_ebml(b"matroska"), Container.MKV),
        (_ebml(b"other"), None),
        (b"\x1a\x45\xdf\xa3\x80", None),
        (b"#EXTM3U\n#EXT-X-VERSION:3\n", None),
        (b"ffconcat version 1.0\nfile '/etc/hostname'\n", None),
        (b"RIFF\x00\x00\x00\x00AVI LIST", None),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None),
        (b"\x47\x40\x00\x10\x00", None),
        (b"", None),
        (b"\x00\x00\x00", None),
    ],
)
def test_sniff(head: bytes, expected: Container | None) -> None:
    assert sniff(head) is expected


@pytest.mark.parametrize(
    ("container", "demuxer", "extension"),
    [
        (Container.MP4, "mov", "mp4"),
        (Container.MOV, "mov", "mov"),
        (Container.WEBM, "matroska", "webm"),
        (Container.MKV, "matroska", "mkv"),
    ],
)
def test_container_demuxer_and_extension(container: Container, demuxer: str, extension: str) -> None:
    assert (container.demuxer, container.extension) == (demuxer, extension)


@pytest.mark.parametrize(
    ("container", "mime_type"),
    [
        (Container.MP4, "video/mp4"),
        (Container.MOV, "video/quicktime"),
        (Container.WEBM, "video/webm"),
        (Container.MKV, "video/x-matroska"),
    ],
)
def test_container_mime_type(container: Container, mime_type: str) -> None:
    assert container.mime_type == mime_type
