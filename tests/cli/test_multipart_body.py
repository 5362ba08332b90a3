"""The streaming multipart body: exact length, parseable, byte-identical to httpx's encoder, lazy."""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from pathlib import Path

import httpx
import pytest

from anb_cli.multipart import FileChangedError, FilePart, MultipartBody


def _encoded(body: MultipartBody) -> bytes:
    return b"".join(body)


def _parse(body: MultipartBody) -> dict[str, tuple[str | None, bytes]]:
    raw = f"Content-Type: {body.content_type}\r\n\r\n".encode() + _encoded(body)
    message = BytesParser(policy=HTTP).parsebytes(raw)
    parts: dict[str, tuple[str | None, bytes]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(name, str)
        assert isinstance(payload, bytes)
        parts[name] = (part.get_filename(), payload)
    return parts


@pytest.mark.parametrize("size", [0, 1, 65_535, 65_536, 200_001])
def test_length_is_exact_and_parts_round_trip(tmp_path: Path, size: int) -> None:
    clip = tmp_path / "clip.mp4"
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    clip.write_bytes(data)
    body = MultipartBody([("title", "Mate en Bogotá ✓")], [FilePart("video_file", clip)])

    encoded = _encoded(body)

    assert len(encoded) == body.content_length
    assert body.headers["Content-Length"] == str(len(encoded))
    parts = _parse(body)
    assert parts["title"] == (None, "Mate en Bogotá ✓".encode())
    assert parts["video_file"] == ("clip.mp4", data)


def test_matches_httpx_encoder_byte_for_byte(tmp_path: Path) -> None:
    clip = tmp_path / "jugada final.mp4"
    clip.write_bytes(b"\x00\x01video" * 1000)
    body = MultipartBody([("title", "x")], [FilePart("video_file", clip)], boundary="b0undary")

    with clip.open("rb") as handle:
        reference = httpx.Request(
            "POST",
            "http://127.0.0.1/api/videos/upload",
            data={"title": "x"},
            files={"video_file": (clip.name, handle, "video/mp4")},
            headers={"Content-Type": body.content_type},
        )
        expected = reference.read()

    assert _encoded(body) == expected


def test_file_is_read_lazily_in_bounded_chunks(tmp_path: Path) -> None:
    clip = tmp_path / "big.mov"
    clip.write_bytes(b"v" * (1024 * 1024 + 7))
    body = MultipartBody([("title", "t")], [FilePart("video_file", clip)], chunk_size=64 * 1024)

    chunks = iter(body)
    first = next(chunks)  # the title part: nothing of the file has been read yet
    assert b"v" not in first
    sizes = [len(chunk) for chunk in chunks]

    assert max(sizes) <= 64 * 1024
    assert sum(sizes) + len(first) == body.content_length


def test_content_type_guessed_from_name(tmp_path: Path) -> None:
    for name, expected in [("a.mp4", "video/mp4"), ("a.webm", "video/webm"), ("a.unknownext", None)]:
        path = tmp_path / name
        path.write_bytes(b"x")
        guessed = FilePart("f", path).effective_content_type
        assert guessed == (expected or "application/octet-stream")


def test_quotes_and_newlines_in_names_cannot_break_the_header(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"data")
    part = FilePart("video_file", clip, filename='evil"\r\nX-Injected: 1.mp4')
    encoded = _encoded(MultipartBody([], [part], boundary="b"))

    assert b"\r\nX-Injected" not in encoded
    assert b'filename="evil%22%0D%0AX-Injected: 1.mp4"' in encoded


def test_a_file_that_grows_while_sending_is_an_error(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"a" * 10)
    body = MultipartBody([], [FilePart("video_file", clip)], chunk_size=4)
    chunks = iter(body)
    next(chunks)  # part head
    with clip.open("ab") as grow:
        grow.write(b"b" * 10)

    with pytest.raises(FileChangedError):
        list(chunks)


def test_a_file_that_shrinks_while_sending_is_an_error(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"a" * 10)
    body = MultipartBody([], [FilePart("video_file", clip)], chunk_size=4)
    chunks = iter(body)
    next(chunks)
    clip.write_bytes(b"a" * 3)

    with pytest.raises(FileChangedError):
        list(chunks)
