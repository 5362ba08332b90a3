"""A ``multipart/form-data`` body that streams its files from disk.

The body is an iterable of byte chunks with its exact length known up front, so an upload sends a
``Content-Length`` (the gateway and S3 multipart both prefer a sized body to chunked encoding) while
never holding more than one chunk of the file in memory.
"""

from __future__ import annotations

import mimetypes
import os
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

# 64 KiB keeps syscalls few while a progress bar still moves smoothly on a slow link.
DEFAULT_CHUNK_SIZE = 64 * 1024

_CRLF = b"\r\n"


@dataclass(frozen=True)
class FilePart:
    name: str
    path: Path
    content_type: str | None = None
    filename: str | None = None

    @property
    def effective_filename(self) -> str:
        return self.filename if self.filename is not None else self.path.name

    @property
    def effective_content_type(self) -> str:
        if self.content_type is not None:
            return self.content_type
        guessed, _ = mimetypes.guess_type(self.effective_filename)
        return guessed or "application/octet-stream"


class FileChangedError(RuntimeError):
    """The file's size changed between measuring the body and sending it."""


def _quote(value: str) -> str:
    # The HTML form-submission escaping: the only characters that could end the quoted string or the
    # header line are replaced; everything else travels as UTF-8.
    return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


class MultipartBody:
    """``fields`` (text) then ``files``, in order; iterate it to get the encoded body."""

    def __init__(
        self,
        fields: Sequence[tuple[str, str]],
        files: Sequence[FilePart],
        *,
        boundary: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        if chunk_size <= 0:
            raise ValueError("chunk_size must be positive")
        self.boundary = boundary or secrets.token_hex(16)
        self.chunk_size = chunk_size
        self._fields = [(self._field_head(name), value.encode()) for name, value in fields]
        self._files = [(self._file_head(part), part, part.path.stat().st_size) for part in files]
        self._tail = b"--" + self.boundary.encode() + b"--" + _CRLF

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    @property
    def content_length(self) -> int:
        fields = sum(len(head) + len(value) + len(_CRLF) for head, value in self._fields)
        files = sum(len(head) + size + len(_CRLF) for head, _, size in self._files)
        return fields + files + len(self._tail)

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type, "Content-Length": str(self.content_length)}

    def __iter__(self) -> Iterator[bytes]:
        for head, value in self._fields:
            yield head + value + _CRLF
        for head, part, size in self._files:
            yield head
            yield from self._read(part.path, size)
            yield _CRLF
        yield self._tail

    def _read(self, path: Path, size: int) -> Iterator[bytes]:
        sent = 0
        with path.open("rb") as source:
            while chunk := source.read(self.chunk_size):
                sent += len(chunk)
                if sent > size:
                    raise FileChangedError(f"{path} grew while it was being uploaded")
                yield chunk
            if os.fstat(source.fileno()).st_size != size or sent != size:
                raise FileChangedError(f"{path} changed size while it was being uploaded")

    def _field_head(self, name: str) -> bytes:
        return (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="{_quote(name)}"\r\n\r\n'
        ).encode()

    def _file_head(self, part: FilePart) -> bytes:
        return (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{_quote(part.name)}"; '
            f'filename="{_quote(part.effective_filename)}"\r\n'
            f"Content-Type: {part.effective_content_type}\r\n\r\n"
        ).encode()
