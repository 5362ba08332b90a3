"""The gateway as a real process (uvicorn + uvloop, as deployed) against the session's PostgreSQL and
moto, with a stand-in ingest recording what the gateway streams to it. Users are created once per
session: each signup costs one Argon2id hash at OWASP's parameters (~50 ms)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from anb_common import keys
from anb_common.aws import Aws
from anb_common.db.models import Video, VideoStatus
from anb_common.keys import processed_key, upload_key
from anb_devstack.moto import free_port
from gateway.stand_in_ingest import Serving, StandInIngest

PASSWORD = "clave-segura-2026"


@dataclass
class Gateway:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


def start_gateway(env: dict[str, str], log: Path, healthy: bool = True, access_log: bool = False) -> Gateway:
    """Start it and wait until it answers /api/health (with 200, or at all when not `healthy`)."""
    port = free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "--factory", "--loop", "uvloop", "--host", "127.0.0.1",
        "--port", str(port), *([] if access_log else ["--no-access-log"]), "anb_gateway.app:create_app",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    # Generous: start-up on a loaded 2-core machine can take tens of seconds; only a hang should fail.
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gateway exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/health", timeout=5).status_code == 200 or not healthy:
                return Gateway(url, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"gateway not healthy in 180 s:\n{log.read_text()[-3000:]}")


def stop_gateway(gateway: Gateway) -> None:
    gateway.process.terminate()
    try:
        gateway.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        gateway.process.kill()


@contextmanager
def own_gateway(env: dict[str, str], log: Path) -> Iterator[Gateway]:
    """A gateway with a test's own settings, stopped when the block ends."""
    started = start_gateway(env, log)
    try:
        yield started
    finally:
        stop_gateway(started)


@pytest.fixture(scope="session")
def ingest() -> Iterator[StandInIngest]:
    stand_in = StandInIngest()
    with Serving(stand_in, stand_in.port):
        yield stand_in


@pytest.fixture(scope="session")
def gateway_env(service_env: dict[str, str], ingest: StandInIngest, aws: Aws) -> dict[str, str]:
    # `aws` is requested so that the session's bucket exists before the gateway presigns links into it.
    return {
        **service_env,
        "ANB_INGEST_URL": ingest.url,
        # The suite signs up and logs in from one address far more often than a person would.
        "ANB_AUTH_RATE_LIMIT_PER_MINUTE": "100000",
        # Small limits so that the size rules can be exercised with small bodies.
        "ANB_UPLOAD_MAX_BYTES": "2000000",
        "ANB_UPLOAD_FORM_OVERHEAD_BYTES": "100000",
    }


@pytest.fixture(scope="session")
def gateway(gateway_env: dict[str, str], session_tmp: Path) -> Iterator[Gateway]:
    started = start_gateway(gateway_env, session_tmp / "gateway.log")
    yield started
    stop_gateway(started)


@pytest.fixture(scope="session")
async def api(gateway: Gateway) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        yield client


@dataclass(frozen=True)
class Player:
    user_id: uuid.UUID
    email: str
    token: str
    first_name: str
    last_name: str
    city: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def sign_up(api: httpx.AsyncClient, first: str, last: str, city: str) -> Player:
    email = f"{first.lower()}.{uuid.uuid4().hex[:8]}@example.com"
    body = {
        "first_name": first, "last_name": last, "email": email, "password1": PASSWORD,
        "password2": PASSWORD, "city": city, "country": "Colombia",
    }  # fmt: skip
    created = await api.post("/api/auth/signup", json=body)
    assert created.status_code == 201, created.text
    login = await api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return Player(
        uuid.UUID(created.json()["user_id"]), email, login.json()["access_token"], first, last, city
    )


@pytest.fixture(scope="session")
async def owner(api: httpx.AsyncClient) -> Player:
    return await sign_up(api, "Ana", "Gómez", "Bogotá")


@pytest.fixture(scope="session")
async def other(api: httpx.AsyncClient) -> Player:
    return await sign_up(api, "Luis", "Pérez", "Medellín")


@pytest.fixture(scope="session")
async def voter(api: httpx.AsyncClient) -> Player:
    return await sign_up(api, "Sara", "Ruiz", "Cali")


class Videos:
    """Rows and objects as ingest and the transcoder would leave them (those services are not under test)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], aws: Aws) -> None:
        self._sessions = sessions
        self._aws = aws

    async def add(
        self,
        owner: uuid.UUID,
        status: VideoStatus = VideoStatus.UPLOADED,
        *,
        published: bool = False,
        title: str = "Triple desde media cancha",
        original: bytes | None = None,
        processed: bytes | None = None,
        progress: int = 0,
        failure_reason: str | None = None,
        uploaded_at: datetime | None = None,
    ) -> uuid.UUID:
        video_id = uuid.uuid4()
        original_key = upload_key(video_id, "mp4")
        done = status == VideoStatus.PROCESSED
        async with self._aws.s3() as s3:
            if original is not None:
                await s3.put_object(Bucket=self._aws.settings.bucket, Key=original_key, Body=original)
            if processed is not None:
                await s3.put_object(
                    Bucket=self._aws.settings.bucket, Key=processed_key(video_id), Body=processed
                )
        async with self._sessions.begin() as session:
            session.add(
                Video(
                    id=video_id, user_id=owner, title=title, status=status, published=published,
                    uploaded_at=uploaded_at or datetime.now(UTC), progress=progress,
                    failure_reason=failure_reason, original_key=original_key,
                    processed_key=processed_key(video_id) if done else None,
                    processed_at=datetime.now(UTC) if done else None,
                    container="mp4", codec="h264", size_bytes=len(original or b""), duration_s=30.0,
                    width=1920, height=1080, checksum_sha256="0" * 64,
                )
            )  # fmt: skip
        return video_id

    async def derive(
        self,
        video_id: uuid.UUID,
        *,
        poster: bytes = b"jpeg",
        storyboard: str | None = None,
        sprite: bytes = b"sprite",
        hls: Mapping[str, bytes] | None = None,
        recorded: bool = True,
        footage: tuple[float, float] | None = None,
    ) -> None:
        """Objects and keys of a processed video's derivatives as the transcoder leaves them (under
        processed/<id>/): the poster, and the storyboard with its sprite and the HLS files when given
        (``hls``: file name -> bytes, with ``index.m3u8`` the playlist). ``recorded=False``: the
        objects only, as a worker leaves them before it records its result in the row. ``footage``:
        where the player's footage lies in the MP4 (start and length in seconds)."""
        objects = {keys.poster_key(video_id, 0): poster}
        values: dict[str, str | float] = {"poster_key": keys.poster_key(video_id, 0)}
        if footage is not None:
            values |= {"footage_start_s": footage[0], "footage_s": footage[1]}
        if storyboard is not None:
            objects |= {keys.storyboard_key(video_id): storyboard.encode(), keys.sprite_key(video_id): sprite}
            values["storyboard_key"] = keys.storyboard_key(video_id)
        if hls is not None:
            objects |= {keys.hls_prefix(video_id) + name: body for name, body in hls.items()}
            values["hls_key"] = keys.hls_playlist_key(video_id)
        async with self._aws.s3() as s3:
            for key, body in objects.items():
                await s3.put_object(Bucket=self._aws.settings.bucket, Key=key, Body=body)
        if recorded:
            async with self._sessions.begin() as session:
                await session.execute(update(Video).where(Video.id == video_id).values(**values))

    async def exists(self, video_id: uuid.UUID) -> bool:
        async with self._sessions() as session:
            return await session.get(Video, video_id) is not None

    async def object_keys(self, video_id: uuid.UUID) -> list[str]:
        """Every object of the video: its original, its MP4 and its derivatives."""
        async with self._aws.s3() as s3:
            found = []
            for prefix in (keys.UPLOADS_PREFIX, keys.PROCESSED_PREFIX):
                listed = await s3.list_objects_v2(
                    Bucket=self._aws.settings.bucket, Prefix=f"{prefix}{video_id}"
                )
                found += [item["Key"] for item in listed.get("Contents", [])]
            return found


@pytest.fixture(scope="session")
def videos(sessions: async_sessionmaker[AsyncSession], aws: Aws) -> Videos:
    return Videos(sessions, aws)
