"""multipart/form-data parsed as it arrives: file bytes flow through, nothing is buffered whole.

Events per segment: ``Field`` for a text field (bounded size), or ``FileStart``, ``FileData``...,
``FileEnd`` for a file. Built on the ``multipart`` package's push parser.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from multipart import MultipartError, MultipartSegment, PushMultipartParser, parse_options_header


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class FileStart:
    name: str
    filename: str
    content_type: str | None


@dataclass(frozen=True, slots=True)
class FileData:
    data: bytes


@dataclass(frozen=True, slots=True)
class FileEnd:
    pass


Event = Field | FileStart | FileData | FileEnd


class FormError(Exception):
    """The body is not a well-formed multipart/form-data stream (or a field is too long)."""


def boundary_of(content_type: str | None) -> str:
    kind, options = parse_options_header(content_type or "")
    if kind != "multipart/form-data" or not options.get("boundary"):
        raise FormError("the body must be multipart/form-data with a boundary")
    boundary: str = options["boundary"]
    return boundary


async def parse_form(
    chunks: AsyncIterator[bytes], content_type: str | None, *, max_field_bytes: int
) -> AsyncGenerator[Event, None]:
    parser = PushMultipartParser(boundary_of(content_type))
    segment: MultipartSegment | None = None
    field = bytearray()
    try:
        async for chunk in chunks:
            if not chunk:
                continue
            for event in parser.parse(chunk):
                if isinstance(event, MultipartSegment):
                    segment = event
                    field.clear()
                    if segment.filename is not None:
                        yield FileStart(segment.name or "", segment.filename, segment.content_type)
                elif event is None:
                    assert segment is not None
                    if segment.filename is not None:
                        yield FileEnd()
                    else:
                        yield Field(segment.name or "", _text(field, segment.charset))
                    segment = None
                elif segment is not None and segment.filename is not None:
                    yield FileData(bytes(event))
                else:
                    if len(field) + len(event) > max_field_bytes:
                        raise FormError(f"form field is longer than {max_field_bytes} bytes")
                    field += event
        parser.close()
    except MultipartError as exc:
        raise FormError(f"malformed multipart body: {exc}") from exc


def _text(raw: bytearray, charset: str | None) -> str:
    try:
        return raw.decode(charset or "utf-8")
    except (UnicodeDecodeError, LookupError) as exc:
        raise FormError("form field is not valid text") from exc
