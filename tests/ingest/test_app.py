"""POST /internal/uploads through the app (in process): accepted containers, every rejection rule,
identity, and that a rejected upload leaves nothing behind."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from ingest_support import NOTHING_LEFT, file_header, form_type, ingest_settings, refused
from litestar import Litestar, get
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common import identity, signing_keys
from anb_common.aws import Aws
from anb_common.db.models import OutboxMessage, Video
from anb_common.settings import DatabaseSettings, SecuritySettings, UploadLimits
from anb_devstack.clips import make_hls_bait, watch_opens
from anb_devstack.moto import free_port
from anb_devstack.notifysocket import NotifySocket
from anb_ingest.app import ACCEPTED_MESSAGE, create_app
from anb_ingest.settings import IngestOptions, IngestSettings

URL = "/internal/uploads"


@pytest.fixture
def restored_root_logger() -> Iterator[None]:
    # create_app() points the root logger at the captured stdout; later tests must not write there.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


async def upload(
    client: AsyncTestClient[Litestar],
    headers: dict[str, str],
    content: bytes | None,
    title: str | None = "Mi mejor jugada",
    filename: str = "clip.mp4",
) -> httpx.Response:
    files = {"video_file": (filename, content, "application/octet-stream")} if content is not None else None
    data = {"title": title} if title is not None else {}
    if files is None:
        # Still multipart: a form that simply lacks the file field.
        files = {"other": ("note.txt", b"hello", "text/plain")}
    return await client.post(URL, files=files, data=data, headers=headers)


@pytest.mark.parametrize(
    ("name", "codec", "container"),
    [
        ("h264.mp4", "libx264", "mp4"),
        ("h264.mov", "libx264", "mov"),
        ("vp9.webm", "libvpx-vp9", "webm"),
        ("av1.mkv", "libsvtav1", "mkv"),
    ],
)
async def test_accepts_each_container(
    client: AsyncTestClient[Litestar],
    clip: Callable[..., Path],
    headers: dict[str, str],
    user_id: uuid.UUID,
    sessions: async_sessionmaker[AsyncSession],
    aws: Aws,
    name: str,
    codec: str,
    container: str,
) -> None:
    content = clip(name, codec=codec).read_bytes()
    # The client's file name is ignored: the key's extension comes from the sniffed bytes.
    response = await upload(client, headers, content, filename="whatever.avi")

    assert response.status_code == 202, response.text
    body = response.json()
    video_id = uuid.UUID(body["video_id"])
    assert body == {"message": ACCEPTED_MESSAGE, "task_id": str(video_id), "video_id": str(video_id)}
    async with sessions() as session:
        video = await session.get_one(Video, video_id)
        query = select(OutboxMessage).where(OutboxMessage.video_id == video_id)
        outbox = (await session.scalars(query)).one()
    assert (video.user_id, video.status, video.title) == (user_id, "uploaded", "Mi mejor jugada")
    assert video.original_key == f"uploads/{video_id}.{container}"
    assert (video.container, video.width, video.height) == (container, 1920, 1080)
    assert video.size_bytes == len(content)
    assert video.duration_s == pytest.approx(21, abs=1)
    assert video.checksum_sha256 == hashlib.sha256(content).hexdigest()
    assert outbox.sent_at is not None, "published before the answer"
    async with aws.s3() as s3:
        stored = await s3.get_object(Bucket=aws.settings.bucket, Key=video.original_key)
        assert await stored["Body"].read() == content


async def test_title_is_trimmed_and_may_come_after_the_file(
    client: AsyncTestClient[Litestar], clip: Callable[..., Path], headers: dict[str, str]
) -> None:
    content = clip("h264.mp4", codec="libx264").read_bytes()
    boundary = "b0undary"
    body = (
        file_header(boundary)
        + content
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n  Tiro libre  \r\n'
        f"--{boundary}--\r\n".encode()
    )
    response = await client.post(URL, content=body, headers={**headers, "Content-Type": form_type(boundary)})
    assert response.status_code == 202, response.text


REJECTIONS: list[tuple[str, dict[str, Any], str, dict[str, Any]]] = [
    # (case, clip overrides or special content, code, values)
    ("too_short", {"seconds": 5}, "duration", {"duration_s": 5.0, "min_s": 20.0}),
    ("too_long", {"seconds": 61}, "duration", {"duration_s": 61.0, "max_s": 60.0}),
    ("low_resolution", {"width": 1280, "height": 720}, "resolution",
     {"width": 1280, "height": 720, "min_short_side_px": 1080}),
    ("portrait_below_1080", {"width": 720, "height": 1280}, "resolution",
     {"width": 720, "height": 1280, "min_short_side_px": 1080}),
    ("mpeg4_codec", {"codec": "mpeg4"}, "codec", {"codec": "mpeg4"}),
    ("vp8_in_webm", {"codec": "libvpx", "suffix": ".webm"}, "codec", {"codec": "vp8"}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "overrides", "code", "values"), REJECTIONS)
async def test_rejects_media_rules(
    client: AsyncTestClient[Litestar],
    clip: Callable[..., Path],
    headers: dict[str, str],
    user_id: uuid.UUID,
    leftovers: Callable[..., Any],
    case: str,
    overrides: dict[str, Any],
    code: str,
    values: dict[str, Any],
) -> None:
    overrides = dict(overrides)
    suffix = overrides.pop("suffix", ".mp4")
    content = clip(case + suffix, **overrides).read_bytes()
    response = await upload(client, headers, content)
    assert refused(response) == (code, values)
    assert await leftovers(user_id) == NOTHING_LEFT


TITLE_BOUNDS = {"min_chars": 1, "max_chars": 200}


@pytest.mark.parametrize(
    ("content", "title", "code", "values"),
    [
        (None, "ok", "missing_field", {"field": "video_file"}),
        (b"", "ok", "empty_file", {}),
        (b"this is a text file, not a video at all, padded past sixty-four bytes", "ok", "not_a_video", {}),
        (b"\x00\x00\x00\x18ftypisom", "ok", "not_a_video", {}),  # a video's first bytes and nothing else
        ("GOOD", None, "missing_field", {"field": "title"}),
        ("GOOD", "", "title", TITLE_BOUNDS),
        ("GOOD", "   ", "title", TITLE_BOUNDS),
        ("GOOD", "x" * 201, "title", TITLE_BOUNDS),
    ],
)
async def test_rejects_form_rules(
    client: AsyncTestClient[Litestar],
    clip: Callable[..., Path],
    headers: dict[str, str],
    user_id: uuid.UUID,
    leftovers: Callable[..., Any],
    content: bytes | str | None,
    title: str | None,
    code: str,
    values: dict[str, Any],
) -> None:
    data = clip("h264.mp4", codec="libx264").read_bytes() if content == "GOOD" else content
    assert not isinstance(data, str)
    response = await upload(client, headers, data, title=title)
    assert refused(response) == (code, values)
    assert await leftovers(user_id) == NOTHING_LEFT


async def test_title_of_200_characters_is_accepted(
    client: AsyncTestClient[Litestar], clip: Callable[..., Path], headers: dict[str, str]
) -> None:
    response = await upload(client, headers, clip("h264.mp4", codec="libx264").read_bytes(), title="ñ" * 200)
    assert response.status_code == 202, response.text


async def test_playlist_disguised_as_mp4_is_rejected_without_reading_what_it_names(
    client: AsyncTestClient[Litestar],
    clip: Callable[..., Path],
    headers: dict[str, str],
    user_id: uuid.UUID,
    leftovers: Callable[..., Any],
    tmp_path: Path,
) -> None:
    secret = clip("h264.mp4", codec="libx264")
    bait = make_hls_bait(tmp_path / "holiday.mp4", secret)
    with watch_opens(secret) as opened:
        response = await upload(client, headers, bait.read_bytes(), filename="holiday.mp4")
    assert refused(response) == ("not_a_video", {})
    assert opened == []
    assert await leftovers(user_id) == NOTHING_LEFT


async def test_too_large_by_declared_length_is_refused_before_reading(
    make_app: Callable[..., Litestar],
    clip: Callable[..., Path],
    headers: dict[str, str],
    user_id: uuid.UUID,
    leftovers: Callable[..., Any],
) -> None:
    content = clip("h264.mp4", codec="libx264").read_bytes()
    limits = UploadLimits(max_bytes=len(content) // 2, form_overhead_bytes=1024)
    async with AsyncTestClient(make_app(upload=limits)) as client:
        response = await upload(client, headers, content)
    assert refused(response) == ("too_large", {"limit_bytes": limits.max_bytes})
    assert await leftovers(user_id) == NOTHING_LEFT


async def test_too_large_while_streaming_stops_reading_and_aborts(
    make_app: Callable[..., Litestar],
    clip: Callable[..., Path],
    headers: dict[str, str],
    user_id: uuid.UUID,
    leftovers: Callable[..., Any],
) -> None:
    """A chunked body declares no length: the limit holds on the bytes, and reading stops at it."""
    head = clip("h264.mp4", codec="libx264").read_bytes()
    limit = 12 * 1024 * 1024  # past one 8 MiB part, so a multipart upload is open when the limit trips
    boundary = "streamed"
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield file_header(boundary)
        chunk = head[: 256 * 1024]
        for _ in range(400):  # 100 MiB if nobody stopped reading
            sent += len(chunk)
            yield chunk

    response = await streamed(make_app(upload=UploadLimits(max_bytes=limit)), headers, boundary, body())
    assert refused(response) == ("too_large", {"limit_bytes": limit})
    assert sent <= limit + 1024 * 1024
    assert await leftovers(user_id) == NOTHING_LEFT


@pytest.mark.parametrize("token", [None, "not-a-token", "wrong-secret"])
async def test_refuses_requests_without_a_valid_identity(
    client: AsyncTestClient[Litestar], clip: Callable[..., Path], user_id: uuid.UUID, token: str | None
) -> None:
    if token == "wrong-secret":
        token = identity.sign(user_id, "another-secret-" + "q" * 32, method="POST", path="/internal/uploads")
    headers = {identity.HEADER: token} if token else {}
    response = await upload(client, headers, clip("h264.mp4", codec="libx264").read_bytes())
    assert refused(response, 401) == ("identity", {})


def _keyless(
    db: DatabaseSettings, aws: Aws, temp_dir: Path, *, dev_mode: bool, devdata: Path
) -> IngestSettings:
    return IngestSettings(
        db=db,
        aws=aws.settings,
        security=SecuritySettings(dev_mode=dev_mode, devdata_dir=devdata, internal_secret=None),
        ingest=IngestOptions(temp_dir=temp_dir),
    )


async def test_dev_mode_without_a_secret_verifies_with_the_shared_dev_key(
    db_settings: DatabaseSettings,
    aws: Aws,
    temp_dir: Path,
    tmp_path: Path,
    clip: Callable[..., Path],
    user_id: uuid.UUID,
) -> None:
    """No ANB_INTERNAL_SECRET in dev mode: ingest takes the key the gateway signs with."""
    devdata = tmp_path / "devdata"
    gateway_key = signing_keys.dev_keys(devdata)[signing_keys.INTERNAL]
    app = create_app(_keyless(db_settings, aws, temp_dir, dev_mode=True, devdata=devdata))
    headers = {identity.HEADER: identity.sign(user_id, gateway_key, method="POST", path="/internal/uploads")}
    async with AsyncTestClient(app, timeout=60) as client:
        response = await upload(client, headers, clip("h264.mp4", codec="libx264").read_bytes())
    assert response.status_code == 202, response.text


def test_outside_dev_mode_refuses_to_start_without_a_secret(
    db_settings: DatabaseSettings, aws: Aws, temp_dir: Path, tmp_path: Path
) -> None:
    settings = _keyless(db_settings, aws, temp_dir, dev_mode=False, devdata=tmp_path / "devdata")
    with pytest.raises(signing_keys.SigningKeyError, match="ANB_INTERNAL_SECRET is required"):
        create_app(settings)
    assert not (tmp_path / "devdata").exists()


async def test_a_replayed_identity_token_is_refused(
    client: AsyncTestClient[Litestar], clip: Callable[..., Path], headers: dict[str, str]
) -> None:
    """A token read off one request (a log, a proxy) cannot be sent again: ingest takes each once."""
    content = clip("h264.mp4", codec="libx264").read_bytes()
    first = await upload(client, headers, content)
    assert first.status_code == 202, first.text
    replay = await upload(client, headers, content, title="otra vez")
    assert refused(replay, 401) == ("identity", {})


async def test_storage_outage_answers_503_with_a_code(
    db_settings: DatabaseSettings,
    aws: Aws,
    temp_dir: Path,
    clip: Callable[..., Path],
    headers: dict[str, str],
    user_id: uuid.UUID,
    leftovers: Callable[..., Any],
) -> None:
    """Nothing listens where storage should be: the same shape as a refusal, with 503's code."""
    nowhere = f"http://127.0.0.1:{free_port()}"
    down = aws.settings.model_copy(update={"endpoint_url": nowhere, "max_attempts": 1})
    settings = ingest_settings(db_settings, down, temp_dir)
    async with AsyncTestClient(create_app(settings), timeout=60) as client:
        response = await upload(client, headers, clip("h264.mp4", codec="libx264").read_bytes())
    assert refused(response, 503) == ("unavailable", {})
    assert await leftovers(user_id) == NOTHING_LEFT


SLOW_LIMITS = {"body_min_bytes_per_s": 1000, "body_grace_s": 0.5}


async def streamed(
    app: Litestar, headers: dict[str, str], boundary: str, body: AsyncIterator[bytes]
) -> httpx.Response:
    """POST ``body`` as it is produced: the raw ASGI transport streams it (the test client reads it
    whole first), with the app's lifespan run in this event loop (its database pool lives here)."""
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ingest", timeout=60) as client:
            form = {**headers, "Content-Type": form_type(boundary)}
            return await client.post(URL, content=body, headers=form)


async def test_a_body_that_trickles_is_refused_with_408_and_leaves_nothing(
    make_app: Callable[..., Litestar],
    clip: Callable[..., Path],
    headers: dict[str, str],
    user_id: uuid.UUID,
    leftovers: Callable[..., Any],
) -> None:
    """Past the grace time, a body must average the minimum rate; one byte every 0.2 s does not.
    By then the file has started (the multipart upload and the spool exist): all of it is undone."""
    content = clip("h264.mp4", codec="libx264").read_bytes()
    boundary = "trickle"
    sent = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal sent
        yield file_header(boundary) + content[:128]
        for byte in content[128:178]:  # 10 s of it at most
            await asyncio.sleep(0.2)
            sent += 1
            yield bytes([byte])

    response = await streamed(make_app(**SLOW_LIMITS), headers, boundary, body())
    code, values = refused(response, 408)
    assert code == "too_slow"
    assert values["min_bytes_per_s"] == 1000
    assert values["bytes_per_s"] < 1000
    assert sent < 20, "reading went on"
    assert await leftovers(user_id) == NOTHING_LEFT


async def test_a_body_above_the_minimum_rate_is_accepted(
    make_app: Callable[..., Litestar], clip: Callable[..., Path], headers: dict[str, str]
) -> None:
    """Control: the same settings let a sender through that pauses but keeps above the rate."""
    content = clip("h264.mp4", codec="libx264").read_bytes()
    boundary = "steady"

    async def body() -> AsyncIterator[bytes]:
        yield file_header(boundary)
        for start in range(0, len(content), 16 * 1024):
            await asyncio.sleep(0.05)
            yield content[start : start + 16 * 1024]
        yield f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\nAl ritmo\r\n'.encode()
        yield f"--{boundary}--\r\n".encode()

    response = await streamed(make_app(**SLOW_LIMITS), headers, boundary, body())
    assert response.status_code == 202, response.text


async def test_liveness_and_readiness(
    client: AsyncTestClient[Litestar], aws: Aws, temp_dir: Path, tmp_path: Path
) -> None:
    for path in ("/internal/live", "/internal/health"):
        response = await client.get(path)
        assert (response.status_code, response.json()) == (200, {"status": "ok", "release": "dev"})
    gone = DatabaseSettings(url=f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/anb")
    systemd = NotifySocket(tmp_path / "notify")
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("NOTIFY_SOCKET", str(systemd.path))
            async with AsyncTestClient(create_app(ingest_settings(gone, aws.settings, temp_dir))) as down:
                health = await down.get("/internal/health")
                live = await down.get("/internal/live")
        assert health.status_code == 503
        assert health.json() == {"status": "unavailable", "down": "database", "release": "dev"}
        assert live.status_code == 200
        assert systemd.wait_until(bool, 10)[0].startswith("STATUS=not ready: database: ")
        assert "READY=1" not in systemd.received
    finally:
        systemd.close()


@pytest.mark.usefixtures("restored_root_logger")
async def test_an_unexpected_error_is_logged_with_its_trace_and_request_id(
    make_app: Callable[..., Litestar], capsys: pytest.CaptureFixture[str]
) -> None:
    @get("/internal/boom", sync_to_thread=False)
    def boom() -> None:
        raise RuntimeError("a bug of ours")

    app = make_app()  # configures the JSON logs on the captured stdout
    app.register(boom)
    async with AsyncTestClient(app) as test_client:
        response = await test_client.get("/internal/boom", headers={"X-Request-ID": "trace-500-ingest"})
    assert response.status_code == 500
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    (error,) = [entry for entry in logged if entry["level"] == "error"]
    assert error["request_id"] == "trace-500-ingest"
    assert "RuntimeError: a bug of ours" in error["exc"]
