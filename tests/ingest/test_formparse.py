"""The streaming form parser: events in order, file bytes passed through in pieces, limits enforced."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from anb_ingest.formparse import Field, FileData, FileEnd, FileStart, FormError, boundary_of, parse_form

BOUNDARY = "xyzzy"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def form(*parts: tuple[str, str | None, bytes]) -> bytes:
    out = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def events(data: bytes, size: int = 7, max_field_bytes: int = 1024) -> list[object]:
    return [e async for e in parse_form(pieces(data, size), CONTENT_TYPE, max_field_bytes=max_field_bytes)]


async def test_fields_and_file_in_order_with_file_bytes_streamed() -> None:
    payload = bytes(range(256)) * 40
    got = await events(form(("title", None, "Clásico".encode()), ("video_file", "a.mp4", payload)))
    assert got[0] == Field("title", "Clásico")
    assert got[1] == FileStart("video_file", "a.mp4", None)
    chunks = [e for e in got if isinstance(e, FileData)]
    assert len(chunks) > 1
    assert b"".join(c.data for c in chunks) == payload
    assert got[-1] == FileEnd()


async def test_field_over_the_limit_is_refused() -> None:
    with pytest.raises(FormError, match="longer than"):
        await events(form(("title", None, b"a" * 2000)))


async def test_truncated_body_is_refused() -> None:
    with pytest.raises(FormError, match="malformed"):
        await events(form(("video_file", "a.mp4", b"x" * 100))[:-30])


@pytest.mark.parametrize("content_type", [None, "application/json", "multipart/form-data"])
def test_needs_a_multipart_content_type_with_boundary(content_type: str | None) -> None:
    with pytest.raises(FormError):
        boundary_of(content_type)
