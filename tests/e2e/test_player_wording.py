"""Every refusal and failure a player can meet, driven through the platform as ``make run`` starts it
(gateway, ingest, transcoder, PostgreSQL, moto): each ``detail`` and ``error`` is Spanish and names
the rule and its limit. Ingest and the transcoder hand over codes; the gateway alone words them.

The platform is this module's own, with limits small enough to reach cheaply: 2 MB uploads, a
1000 bytes/s pace with 1 s of slack, and at most 10 decoded pictures per second of kept footage.

Not driven here, because no player can cause them through the services: ``identity`` and
``unavailable`` (ingest's keys or storage, worded as the gateway's 502/503), ingest's own ``too_slow``
(the gateway's pace cuts first; both read alike), ``unsupported_codec`` (ingest refuses those files
first), ``damaged``, ``damaged_midway``, ``unsupported_picture``, ``took_too_long`` and ``gave_up``
(a damaged decode, a format the filters refuse, a slow host or failing storage). Their sentences are
checked one by one in tests/gateway/test_wording.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import av
import httpx
import numpy as np
import pytest

from anb_common.aws import Aws
from anb_devstack import running
from anb_devstack.clips import make_clip, make_frame_bomb, with_sps_size
from anb_devstack.running import RunningPlatform
from anb_gateway import wording

BOUNDARY = "anb-wording-boundary"
MAX_BYTES = 2_000_000
MIN_RATE = 1000
# Small noisy clips: the rules look at duration, size, codec and pictures, never at quality.
SMALL = {"preset": "ultrafast", "crf": "51"}
PASSWORD = "clave-segura-2026"

# Words that only English has: none may reach a player.
ENGLISH = re.compile(
    r"\b(the|must|is|not|file|field|expected|too|large|with|lasts|least|most|please|upload|could|"
    r"our|your|cannot|pictures|track|allowed)\b",
    re.IGNORECASE,
)
SPANISH = re.compile(r"\b(el|la|debe|de|no|se)\b")


@pytest.fixture(scope="module")
def platform(session_tmp: Path) -> Iterator[RunningPlatform]:
    env = {
        "ANB_AUTH_RATE_LIMIT_PER_MINUTE": "100000",
        "ANB_UPLOAD_MAX_BYTES": str(MAX_BYTES),
        "ANB_HTTP_UPLOAD_MIN_RATE_BYTES_S": str(MIN_RATE),
        "ANB_HTTP_UPLOAD_STALL_S": "1",
        "ANB_PROCESSING_MAX_DECODED_FPS": "10",
    }
    try:
        with running.platform(
            session_tmp / "wording-platform", session_tmp / "wording-platform.log", workers=1, extra_env=env
        ) as started:
            yield started
    except running.PlatformFailed as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
async def client(platform: RunningPlatform) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform.api, timeout=120) as opened:
        yield opened


async def _player(client: httpx.AsyncClient) -> dict[str, str]:
    email = f"jugador.{uuid.uuid4().hex[:8]}@example.com"
    signup = {
        "first_name": "Nora", "last_name": "Paz", "email": email, "password1": PASSWORD,
        "password2": PASSWORD, "city": "Bogotá", "country": "Colombia",
    }  # fmt: skip
    assert (await client.post("/auth/signup", json=signup)).status_code == 201
    login = await client.post("/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


@pytest.fixture(scope="module")
async def auth(client: httpx.AsyncClient) -> dict[str, str]:
    return await _player(client)


def part(name: str, value: bytes, filename: str | None = None) -> bytes:
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    kind = "Content-Type: video/mp4\r\n" if filename else ""
    return f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n{kind}\r\n".encode() + value + b"\r\n"


def form(*parts: bytes) -> bytes:
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def upload(video: bytes, title: str = "Mi mejor jugada") -> bytes:
    return form(part("title", title.encode()), part("video_file", video, "clip.mp4"))


def multipart(auth: dict[str, str]) -> dict[str, str]:
    return {**auth, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def assert_worded(text: str, *fragments: str) -> None:
    assert not ENGLISH.search(text), f"English reached a player: {text!r}"
    assert SPANISH.search(text), text
    for fragment in fragments:
        assert fragment in text, (fragment, text)


def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as out:
        stream = out.add_stream("aac", rate=48_000)
        for index in range(50):
            frame = av.AudioFrame.from_ndarray(
                np.zeros((1, 1024), dtype="float32"), format="fltp", layout="mono"
            )
            frame.sample_rate, frame.pts = 48_000, index * 1024
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def files(session_tmp: Path) -> dict[str, bytes]:
    folder = session_tmp / "wording-clips"
    folder.mkdir()
    good = make_clip(folder / "good.mp4", seconds=20.5, fps=2, options=SMALL).read_bytes()
    damaged = bytearray(good)
    start = damaged.index(b"mdat") + 8
    damaged[start : start + 4000] = bytes(range(256)) * 15 + bytes(160)
    return {
        "good": good,
        "short": make_clip(folder / "short.mp4", seconds=5, fps=2, options=SMALL).read_bytes(),
        "long": make_clip(folder / "long.mp4", seconds=61, fps=1, options=SMALL).read_bytes(),
        "low": make_clip(
            folder / "low.mp4", width=1280, height=720, seconds=21, fps=1, options=SMALL
        ).read_bytes(),
        "mpeg4": make_clip(folder / "mpeg4.mov", seconds=21, fps=1, codec="mpeg4").read_bytes(),
        "huge": with_sps_size(good, 512, 512),
        "bomb": make_frame_bomb(folder / "bomb.mp4", frames=5000, seconds=21).read_bytes(),
        "audio": _audio_only(folder / "audio.mp4").read_bytes(),
        "damaged": bytes(damaged),
        # Passes ingest (15 pictures a second) but holds more than the transcoder decodes (10 a second).
        "dense": make_clip(folder / "dense.mp4", seconds=21, fps=15, options=SMALL).read_bytes(),
    }


# (case, how the body is built from the files, the status, what the detail must name)
REFUSALS: list[tuple[str, Any, int, tuple[str, ...]]] = [
    (
        "too_large",
        lambda f: upload(f["good"][:4096] + bytes(MAX_BYTES + 1 - 4096)),
        400,
        ("video_file", "2 MB"),
    ),
    ("empty_file", lambda f: upload(b""), 400, ("video_file", "vacío")),
    ("missing video_file", lambda f: form(part("title", b"Sin archivo")), 400, ("video_file", "falta")),
    ("missing title", lambda f: form(part("video_file", f["good"], "a.mp4")), 400, ("title", "falta")),
    (
        "duplicate_field",
        lambda f: form(part("title", b"Uno"), part("title", b"Dos"), part("video_file", f["good"], "a.mp4")),
        400,
        ("title", "más de una vez"),
    ),
    ("malformed_form", lambda f: b"esto no es un formulario", 400, ("multipart/form-data",)),
    ("title", lambda f: upload(f["good"], title="x" * 201), 400, ("title", "entre 1 y 200 caracteres")),
    (
        "not_a_video",
        lambda f: upload(b"hola, esto es texto" * 50),
        400,
        ("video_file", "MP4, MOV, WebM o MKV"),
    ),
    ("no_video_stream", lambda f: upload(f["audio"]), 400, ("video_file", "pista de video")),
    ("undecodable", lambda f: upload(f["damaged"]), 400, ("video_file", "dañada")),
    ("codec", lambda f: upload(f["mpeg4"]), 400, ("mpeg4", "H.264, HEVC, VP9 y AV1")),
    ("duration, short", lambda f: upload(f["short"]), 400, ("5,0 s", "al menos 20 s")),
    ("duration, long", lambda f: upload(f["long"]), 400, ("61,0 s", "como máximo 60 s")),
    ("resolution, low", lambda f: upload(f["low"]), 400, ("1280x720", "al menos 1080 píxeles")),
    ("resolution, huge", lambda f: upload(f["huge"]), 400, ("8192x8184", "como máximo 4096 píxeles")),
    ("frame_rate", lambda f: upload(f["bomb"]), 400, ("imágenes por segundo", "como máximo 120")),
]


@pytest.mark.parametrize(("case", "body", "status", "names"), REFUSALS, ids=[case for case, *_ in REFUSALS])
async def test_each_refusal_of_an_upload_is_worded_for_the_player(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    files: dict[str, bytes],
    case: str,
    body: Any,
    status: int,
    names: tuple[str, ...],
) -> None:
    response = await client.post("/videos/upload", content=body(files), headers=multipart(auth))
    assert response.status_code == status, (case, response.text)
    assert set(response.json()) == {"status_code", "detail"}
    assert_worded(response.json()["detail"], *names)


async def test_the_gateways_own_refusals_of_an_upload_are_worded(
    platform: RunningPlatform, client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    not_multipart = await client.post(
        "/videos/upload", content=b"{}", headers={**auth, "Content-Type": "application/json"}
    )
    assert not_multipart.status_code == 400
    assert_worded(not_multipart.json()["detail"], "multipart/form-data", "video_file", "title")
    # Declared larger than the limit: refused before one byte of the body is read.
    reader, writer = await _raw_upload(platform, auth, declared=MAX_BYTES * 2)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 120)  # a guard against a hang only
    writer.close()
    assert answer.split(b" ")[1] == b"400"
    assert_worded(httpx.Response(400, content=answer.partition(b"\r\n\r\n")[2]).json()["detail"], "2 MB")


async def _raw_upload(
    platform: RunningPlatform, auth: dict[str, str], declared: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection with an upload's request head written, declaring ``declared`` bytes of body."""
    host, port = platform.api.removeprefix("http://").split("/")[0].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    head = (
        f"POST /api/videos/upload HTTP/1.1\r\nHost: {host}\r\nAuthorization: {auth['Authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: {declared}\r\n\r\n"
    )
    writer.write(head.encode())
    return reader, writer


async def _trickle(
    platform: RunningPlatform, auth: dict[str, str], files: dict[str, bytes]
) -> httpx.Response:
    """The form's start at once, then a byte every 10 s, until the gateway answers."""
    reader, writer = await _raw_upload(platform, auth, declared=MAX_BYTES)
    writer.write(part("title", b"Goteo") + part("video_file", files["good"][:4096], "a.mp4")[:-2])

    async def dribble() -> None:
        with contextlib.suppress(ConnectionError):
            while True:
                await writer.drain()
                await asyncio.sleep(10)
                writer.write(b"\0")

    sending = asyncio.create_task(dribble())
    try:
        answer = await asyncio.wait_for(reader.read(), 120)  # a guard against a hang only
    finally:
        sending.cancel()
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1])
    headers = dict(line.decode().split(": ", 1) for line in head.split(b"\r\n")[1:])
    return httpx.Response(status, content=body, headers=headers)


async def test_slow_and_greedy_uploads_are_worded(
    platform: RunningPlatform, client: httpx.AsyncClient, files: dict[str, bytes]
) -> None:
    greedy = await _player(client)
    answers = await asyncio.gather(*(_trickle(platform, greedy, files) for _ in range(3)))
    by_status = {answer.status_code: answer for answer in answers}
    assert sorted(answer.status_code for answer in answers) == [408, 408, 429]
    assert_worded(by_status[408].json()["detail"], "video_file", "lento", "1 KB/s")
    assert_worded(by_status[429].json()["detail"], "2 cargas")
    assert by_status[429].headers["retry-after"].isdigit()


async def _detail_when(
    client: httpx.AsyncClient, auth: dict[str, str], video_id: str, status: str
) -> dict[str, Any]:
    """The video's detail once it reaches ``status`` (processing takes seconds; the deadline is for a
    slow machine, not a bound on the platform)."""
    deadline = time.monotonic() + 600
    while True:
        detail: dict[str, Any] = (await client.get(f"/videos/{video_id}", headers=auth)).json()
        if detail["status"] == status:
            return detail
        assert detail["status"] != "processed", detail
        assert time.monotonic() < deadline, detail
        await asyncio.sleep(0.5)


async def test_each_processing_failure_is_worded_for_the_player(
    platform: RunningPlatform, client: httpx.AsyncClient, auth: dict[str, str], files: dict[str, bytes]
) -> None:
    headers = multipart(auth)
    dense = await client.post(
        "/videos/upload", content=upload(files["dense"], "Muchas imágenes"), headers=headers
    )
    assert dense.status_code == 202, dense.text
    # The 202 is the gateway's own sentence.
    assert dense.json()["message"] == wording.ACCEPTED
    dense_id = dense.json()["video_id"]
    await _detail_when(client, auth, dense_id, "processing")
    # While the one worker decodes that one, this one waits in the queue; its original is then lost.
    gone = await client.post("/videos/upload", content=upload(files["good"], "Sin original"), headers=headers)
    assert gone.status_code == 202, gone.text
    gone_id = gone.json()["video_id"]
    aws = Aws(platform.aws)
    async with aws.s3() as s3:
        listed = await s3.list_objects_v2(Bucket=aws.settings.bucket, Prefix=f"uploads/{gone_id}")
        for item in listed.get("Contents", []):
            await s3.delete_object(Bucket=aws.settings.bucket, Key=item["Key"])

    too_many = await _detail_when(client, auth, dense_id, "failed")
    assert_worded(too_many["error"], "imágenes", "como máximo 300")
    missing = await _detail_when(client, auth, gone_id, "failed")
    assert_worded(missing["error"], "original", "Súbalo de nuevo")
