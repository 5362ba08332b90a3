"""UploadReader against a real S3 (moto): what a body carried is handed back and stored under a key and
content type from the sniffed bytes; each form rule refused, and undoing leaves no upload nor spool."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from anb_common.aws import Aws
from anb_common.reasons import Reason
from anb_common.settings import UploadLimits
from anb_ingest.errors import UploadRejected
from anb_ingest.receive import Received, UploadReader, refuse_declared_length
from anb_ingest.s3store import S3UploadStore
from anb_ingest.settings import IngestOptions

BOUNDARY = "r3ceive"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
# Starts like an MP4 (all sniffing looks at); the reader never probes, so the rest may be anything.
MP4_LIKE = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + bytes(range(256)) * 8
SMALL = UploadLimits(max_bytes=100_000, form_overhead_bytes=1_000)

Part = tuple[str, str | None, bytes]  # (field name, file name or None for a plain field, value)


def form(*parts: Part, closed: bool = True) -> bytes:
    out = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return out + (f"--{BOUNDARY}--\r\n".encode() if closed else b"")


def video(content: bytes = MP4_LIKE) -> Part:
    return ("video_file", "clip.avi", content)


def title(text: str = "Gol de media cancha") -> Part:
    return ("title", None, text.encode())


async def pieces(data: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def reader_for(
    store: S3UploadStore,
    temp_dir: Path,
    video_id: uuid.UUID,
    *,
    limits: UploadLimits | None = None,
    content_type: str | None = CONTENT_TYPE,
) -> UploadReader:
    return UploadReader(
        video_id,
        limits=limits or UploadLimits(),
        options=IngestOptions(temp_dir=temp_dir),
        store=store,
        content_type=content_type,
        content_length=None,
    )


@pytest.mark.parametrize(
    ("name", "codec", "extension", "mime_type"),
    [
        ("h264.mp4", "libx264", "mp4", "video/mp4"),
        ("h264.mov", "libx264", "mov", "video/quicktime"),
        ("vp9.webm", "libvpx-vp9", "webm", "video/webm"),
        ("av1.mkv", "libsvtav1", "mkv", "video/x-matroska"),
    ],
)
async def test_hands_back_what_the_body_carried_and_stores_it_on_complete(
    aws: Aws,
    tmp_path: Path,
    clip: Callable[..., Path],
    name: str,
    codec: str,
    extension: str,
    mime_type: str,
) -> None:
    content = clip(name, codec=codec).read_bytes()
    video_id = uuid.uuid4()
    bucket = aws.settings.bucket
    async with aws.s3() as s3:
        reader = reader_for(S3UploadStore(s3, bucket), tmp_path, video_id)
        received = await reader.read(pieces(form(title("  Tiro libre  "), video(content))))
        assert received == Received(
            title="Tiro libre",
            key=f"uploads/{video_id}.{extension}",
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            local_copy=received.local_copy,
        )
        assert received.local_copy.read_bytes() == content
        with pytest.raises(ClientError):  # nothing is visible before it is completed
            await s3.head_object(Bucket=bucket, Key=received.key)
        await reader.complete()
        stored = await s3.get_object(Bucket=bucket, Key=received.key)
        assert stored["ContentType"] == mime_type
        assert await stored["Body"].read() == content
        await s3.delete_object(Bucket=bucket, Key=received.key)
    reader.close()
    assert list(tmp_path.iterdir()) == []


NEEDS_FILE = Reason("missing_field", {"field": "video_file"})
NEEDS_TITLE = Reason("missing_field", {"field": "title"})
FILE_TWICE = Reason("duplicate_field", {"field": "video_file"})
TITLE_TWICE = Reason("duplicate_field", {"field": "title"})
TITLE_BOUNDS = Reason("title", {"min_chars": 1, "max_chars": 200})
OVER_SMALL = Reason("too_large", {"limit_bytes": SMALL.max_bytes})

REJECTIONS: list[tuple[str, bytes, UploadLimits | None, Reason]] = [
    # (case, body, limits or the defaults, the reason the refusal carries)
    ("no file field", form(title(), ("other", "note.txt", b"hello")), None, NEEDS_FILE),
    ("no title field", form(video()), None, NEEDS_TITLE),
    ("file sent twice", form(title(), video(), video()), None, FILE_TWICE),
    ("title sent twice", form(title(), title(), video()), None, TITLE_TWICE),
    ("blank title", form(title("   "), video()), None, TITLE_BOUNDS),
    ("title too long", form(title("x" * 201), video()), None, TITLE_BOUNDS),
    ("empty file", form(title(), video(b"")), None, Reason("empty_file")),
    ("text file", form(title(), video(b"plain text, not a video at all, " * 4)), None, Reason("not_a_video")),
    ("fewer bytes than sniffing needs", form(title(), video(MP4_LIKE[:8])), None, Reason("not_a_video")),
    ("truncated body", form(title(), video(), closed=False), None, Reason("malformed_form")),
    ("file over the limit", form(title(), video(MP4_LIKE * 60)), SMALL, OVER_SMALL),
    ("body over the limit", form(video(), ("other", "x.bin", bytes(150_000))), SMALL, OVER_SMALL),
]


@pytest.mark.parametrize(("case", "body", "limits", "reason"), REJECTIONS)
async def test_form_rules_and_undo_leaves_nothing(
    aws: Aws, tmp_path: Path, case: str, body: bytes, limits: UploadLimits | None, reason: Reason
) -> None:
    video_id = uuid.uuid4()
    bucket = aws.settings.bucket
    async with aws.s3() as s3:
        reader = reader_for(S3UploadStore(s3, bucket), tmp_path, video_id, limits=limits)
        with pytest.raises(UploadRejected) as rejected:
            await reader.read(pieces(body))
        await reader.discard()
        reader.close()
        uploads = await s3.list_multipart_uploads(Bucket=bucket)
    assert rejected.value.reason == reason, case
    assert [u["Key"] for u in uploads.get("Uploads", []) if str(video_id) in u["Key"]] == []
    assert list(tmp_path.iterdir()) == []


async def test_needs_a_multipart_content_type(aws: Aws, tmp_path: Path) -> None:
    async with aws.s3() as s3:
        reader = reader_for(S3UploadStore(s3, aws.settings.bucket), tmp_path, uuid.uuid4(), content_type=None)
        with pytest.raises(UploadRejected) as rejected:
            await reader.read(pieces(form(title(), video())))
        reader.close()
    assert rejected.value.reason == Reason("malformed_form")


@pytest.mark.parametrize(
    ("content_length", "refused"),
    [(None, False), (0, False), (SMALL.max_bytes, False), (101_000, False), (101_001, True)],
)
def test_declared_length_table(content_length: int | None, refused: bool) -> None:
    """The limit on a declared length is the file's plus the form's own overhead (boundaries, fields)."""
    if not refused:
        refuse_declared_length(content_length, SMALL)
        return
    with pytest.raises(UploadRejected) as rejected:
        refuse_declared_length(content_length, SMALL)
    assert rejected.value.reason == OVER_SMALL
