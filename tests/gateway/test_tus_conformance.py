"""The contract's "Resumable uploads (tus 1.0.0)" rules, each against the gateway with the real ingest
behind it (both uvicorn processes, the session's moto and PostgreSQL): every status code and header
of the section, and what each way an upload ends leaves behind (nothing, or exactly a video)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import asyncpg
import httpx
import pytest

from anb_common.aws import Aws
from anb_common.db.dsn import libpq_url
from anb_common.reasons import Reason, TusRule, UploadRule
from anb_devstack.clips import make_clip
from anb_gateway import wording
from anb_gateway.web.session import SESSION_COOKIE
from gateway.conftest import Gateway, Player, sign_up
from gateway.real_ingest import gateway_over_real_ingest, queue_of_its_own
from gateway.tus_support import (
    MIB,
    NOTHING,
    OCTETS,
    TUS,
    create,
    leftovers,
    metadata,
    moov_first,
    padded,
    send,
)
from gateway.tus_support import upload_id as id_of

LIMIT = 100 * 1000 * 1000
ORIGIN = "https://app.example"
STALL_S = 5


@pytest.fixture(scope="module")
def platform(gateway_env: dict[str, str], session_tmp: Path, aws: Aws) -> Iterator[tuple[Gateway, Gateway]]:
    queue = asyncio.run(queue_of_its_own(aws, "gateway-tus"))
    # The sweeper looks every second, so that an expired upload goes within the test's patience.
    ingest_settings = {"ANB_INGEST_TUS_SWEEP_INTERVAL_S": "1"}
    gateway_settings = {
        "ANB_HTTP_CORS_ORIGINS": f'["{ORIGIN}"]',
        # uvicorn takes X-Forwarded-Proto from these peers only.
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
        # A PATCH may lag 5 s behind the minimum rate (30 s by default), so that a trickle is cut
        # within the test's patience.
        "ANB_HTTP_UPLOAD_STALL_S": str(STALL_S),
    }
    with gateway_over_real_ingest(
        gateway_env, queue, session_tmp, "gateway-tus",
        ingest_settings=ingest_settings, gateway_settings=gateway_settings,
    ) as pair:  # fmt: skip
        yield pair


@pytest.fixture(scope="module")
async def uploads(platform: tuple[Gateway, Gateway]) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=platform[0].url, timeout=120) as client:
        yield client


@pytest.fixture(scope="module")
def db_url(service_env: dict[str, str]) -> str:
    return service_env["ANB_DB_URL"]


@pytest.fixture(scope="module")
def clip_20mib(session_tmp: Path) -> bytes:
    """A 1080p clip the rules accept, padded to 20 MiB (three parts, the last a short one)."""
    # At x264's coarsest quantiser the clip is about 0.5 MB, whatever the pictures; the padding does
    # the rest (a few 1080p noise pictures at the default quality would pass 20 MiB on their own).
    options = {"crf": "51"}
    clip = make_clip(
        session_tmp / "tus-accepted.mp4", width=1920, height=1080, seconds=21, fps=2, options=options
    )
    return padded(clip, session_tmp / "tus-accepted-20mib.mp4", 20 * MIB).read_bytes()


async def _expire(db_url: str, upload_id: str) -> None:
    connection = await asyncpg.connect(libpq_url(db_url))
    try:
        await connection.execute(
            "UPDATE tus_uploads SET expires_at = now() - interval '1 second' WHERE id = $1::uuid", upload_id
        )
    finally:
        await connection.close()


async def _leased(db_url: str, upload_id: str) -> bool:
    connection = await asyncpg.connect(libpq_url(db_url))
    try:
        return bool(
            await connection.fetchval(
                "SELECT lease_token IS NOT NULL AND lease_expires_at > now() FROM tus_uploads"
                " WHERE id = $1::uuid",
                upload_id,
            )
        )
    finally:
        await connection.close()


def _detail(response: httpx.Response) -> str:
    assert response.headers["Tus-Resumable"] == "1.0.0"
    body = response.json()
    assert body["status_code"] == response.status_code
    return str(body["detail"])


async def test_options_tells_the_configuration_without_a_token(uploads: httpx.AsyncClient) -> None:
    response = await uploads.options("/api/uploads/")
    assert response.status_code == 204
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {
        "creation",
        "creation-with-upload",
        "termination",
        "expiration",
        "checksum",
    }
    assert response.headers["Tus-Max-Size"] == str(LIMIT)
    assert response.headers["Tus-Checksum-Algorithm"] == "sha1,sha256"
    assert "Tus-Resumable" not in response.headers


async def test_a_request_without_the_version_or_with_another_gets_412(
    uploads: httpx.AsyncClient, owner: Player
) -> None:
    for version in ({}, {"Tus-Resumable": "0.2.2"}):
        response = await uploads.post(
            "/api/uploads/",
            headers={**owner.auth, **version, "Upload-Length": "10", "Upload-Metadata": metadata(title="t")},
        )
        assert response.status_code == 412
        assert response.headers["Tus-Version"] == "1.0.0"
        assert _detail(response) == wording.tus_refusal(Reason(TusRule.VERSION))


async def test_creation_answers_its_location_and_expiry(uploads: httpx.AsyncClient, owner: Player) -> None:
    before = datetime.now(UTC)
    response = await uploads.post(
        "/api/uploads/",
        headers={**TUS, **owner.auth, "Upload-Length": "1000", "Upload-Metadata": metadata(title="Tiro")},
    )
    assert response.status_code == 201
    assert response.headers["Tus-Resumable"] == "1.0.0"
    location = response.headers["Location"]
    assert location.startswith(f"{uploads.base_url}".rstrip("/") + "/api/uploads/")
    expires = parsedate_to_datetime(response.headers["Upload-Expires"])
    assert timedelta(hours=23, minutes=59) < expires - before < timedelta(hours=24, minutes=1)
    assert (await uploads.delete(location, headers={**TUS, **owner.auth})).status_code == 204


async def test_location_follows_x_forwarded_proto_from_a_trusted_proxy_only(
    uploads: httpx.AsyncClient, owner: Player, platform: tuple[Gateway, Gateway]
) -> None:
    headers = {**TUS, **owner.auth, "Upload-Length": "1000", "Upload-Metadata": metadata(title="Tiro")}
    proxied = await uploads.post("/api/uploads/", headers={**headers, "X-Forwarded-Proto": "https"})
    assert proxied.headers["Location"].startswith("https://")
    # The same header from a peer that is not a trusted proxy (another loopback address) is ignored.
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(base_url=platform[0].url, transport=transport, timeout=30) as stranger:
        direct = await stranger.post("/api/uploads/", headers={**headers, "X-Forwarded-Proto": "https"})
    assert direct.headers["Location"].startswith("http://")
    for response in (proxied, direct):
        location = response.headers["Location"].replace("https://", "http://", 1)
        assert (await uploads.delete(location, headers={**TUS, **owner.auth})).status_code == 204


async def test_creation_refusals(uploads: httpx.AsyncClient, owner: Player) -> None:
    base = {**TUS, **owner.auth}
    too_long = await uploads.post(
        "/api/uploads/",
        headers={**base, "Upload-Length": str(LIMIT + 1), "Upload-Metadata": metadata(title="t")},
    )
    assert too_long.status_code == 413
    assert _detail(too_long) == wording.too_large(LIMIT)
    untitled = await uploads.post(
        "/api/uploads/",
        headers={**base, "Upload-Length": "10", "Upload-Metadata": metadata(filename="a.mp4")},
    )
    assert untitled.status_code == 400
    assert _detail(untitled) == wording.tus_refusal(Reason(TusRule.TITLE_MISSING))
    wordy = await uploads.post(
        "/api/uploads/", headers={**base, "Upload-Length": "10", "Upload-Metadata": metadata(title="x" * 201)}
    )
    assert wordy.status_code == 400
    assert _detail(wordy) == wording.upload_refusal(
        Reason(UploadRule.TITLE, {"min_chars": 1, "max_chars": 200})
    )
    lengthless = await uploads.post("/api/uploads/", headers={**base, "Upload-Metadata": metadata(title="t")})
    assert lengthless.status_code == 400
    assert "Upload-Length" in _detail(lengthless)
    anonymous = await uploads.post("/api/uploads/", headers={**TUS, "Upload-Length": "10"})
    assert anonymous.status_code == 401
    assert anonymous.headers["Tus-Resumable"] == "1.0.0"


async def test_a_fourth_upload_in_progress_is_429(uploads: httpx.AsyncClient) -> None:
    player = await sign_up(uploads, "Tres", "Cargas", "Pasto")
    locations = [await create(uploads, player.auth, 1000) for _ in range(3)]
    fourth = await uploads.post(
        "/api/uploads/",
        headers={**TUS, **player.auth, "Upload-Length": "1000", "Upload-Metadata": metadata(title="t")},
    )
    assert fourth.status_code == 429
    assert "Retry-After" in fourth.headers
    assert _detail(fourth) == wording.tus_refusal(Reason(TusRule.TOO_MANY, {"max": 3}))
    assert (await uploads.delete(locations[0], headers={**TUS, **player.auth})).status_code == 204
    locations[0] = await create(uploads, player.auth, 1000)
    for location in locations:
        await uploads.delete(location, headers={**TUS, **player.auth})


async def test_head_tells_offset_length_and_metadata_and_is_not_cached(
    uploads: httpx.AsyncClient, owner: Player
) -> None:
    location = await create(uploads, owner.auth, 5000, title="Cabeza")
    response = await uploads.head(location, headers={**TUS, **owner.auth})
    assert response.status_code == 200
    assert response.headers["Upload-Offset"] == "0"
    assert response.headers["Upload-Length"] == "5000"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Tus-Resumable"] == "1.0.0"
    assert response.headers["Upload-Metadata"] == metadata(title="Cabeza")
    await uploads.delete(location, headers={**TUS, **owner.auth})


async def test_patch_rules_and_a_checksum_mismatch_does_not_move_the_offset(
    uploads: httpx.AsyncClient, owner: Player, clip_20mib: bytes, aws: Aws, db_url: str
) -> None:
    location = await create(uploads, owner.auth, len(clip_20mib))
    head = clip_20mib[: 2 * MIB]
    untyped = {**TUS, **owner.auth, "Upload-Offset": "0"}
    wrong_type = await uploads.patch(location, content=head, headers=untyped)
    assert wrong_type.status_code == 415
    assert _detail(wrong_type) == wording.tus_refusal(Reason(TusRule.CONTENT_TYPE))
    ahead = await send(uploads, owner.auth, location, 100, head)
    assert ahead.status_code == 409
    assert _detail(ahead) == wording.tus_refusal(Reason(TusRule.OFFSET_MISMATCH, {"offset": 0}))
    md5 = await send(
        uploads,
        owner.auth,
        location,
        0,
        head,
        **{"Upload-Checksum": "md5 " + base64.b64encode(b"x" * 16).decode()},
    )
    assert md5.status_code == 400
    assert "sha1" in _detail(md5)
    wrong = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
    mismatch = await send(uploads, owner.auth, location, 0, head, **{"Upload-Checksum": f"sha256 {wrong}"})
    assert mismatch.status_code == 460
    assert _detail(mismatch) == wording.tus_refusal(Reason(TusRule.CHECKSUM_MISMATCH))
    assert (await uploads.head(location, headers={**TUS, **owner.auth})).headers["Upload-Offset"] == "0"
    right = base64.b64encode(hashlib.sha1(head).digest()).decode()
    matched = await send(uploads, owner.auth, location, 0, head, **{"Upload-Checksum": f"sha1 {right}"})
    assert matched.status_code == 204, matched.text
    assert matched.headers["Upload-Offset"] == str(len(head))
    assert "Upload-Expires" in matched.headers
    # The tail (shorter than a part) is durable: the offset counts it, and it lives in S3.
    assert (await uploads.head(location, headers={**TUS, **owner.auth})).headers["Upload-Offset"] == str(
        len(head)
    )
    stored = await leftovers(aws, db_url, id_of(location))
    assert stored.objects == [f"uploads/{id_of(location)}.tail-{len(head)}"]
    beyond = await send(uploads, owner.auth, location, len(head), b"\0" * (len(clip_20mib) - len(head) + 1))
    assert beyond.status_code == 413
    assert (await uploads.delete(location, headers={**TUS, **owner.auth})).status_code == 204


async def test_another_players_upload_is_404(
    uploads: httpx.AsyncClient, owner: Player, other: Player
) -> None:
    location = await create(uploads, owner.auth, 1000)
    assert (await uploads.head(location, headers={**TUS, **other.auth})).status_code == 404
    patched = await send(uploads, other.auth, location, 0, b"\0" * 10)
    assert patched.status_code == 404
    assert _detail(patched) == wording.tus_refusal(Reason(TusRule.NOT_FOUND))
    assert (await uploads.delete(location, headers={**TUS, **other.auth})).status_code == 404
    assert (await uploads.head(location, headers={**TUS, **owner.auth})).status_code == 200
    await uploads.delete(location, headers={**TUS, **owner.auth})


async def test_termination_leaves_nothing(
    uploads: httpx.AsyncClient, owner: Player, clip_20mib: bytes, aws: Aws, db_url: str
) -> None:
    location = await create(uploads, owner.auth, len(clip_20mib))
    # A whole part in the multipart upload and a tail object after it.
    assert (await send(uploads, owner.auth, location, 0, clip_20mib[: 9 * MIB])).status_code == 204
    stored = await leftovers(aws, db_url, id_of(location))
    assert stored.rows == 1
    assert stored.multipart_uploads
    assert stored.objects
    deleted = await uploads.delete(location, headers={**TUS, **owner.auth})
    assert deleted.status_code == 204
    assert deleted.headers["Tus-Resumable"] == "1.0.0"
    assert await leftovers(aws, db_url, id_of(location)) == NOTHING
    for answer in (
        await uploads.head(location, headers={**TUS, **owner.auth}),
        await send(uploads, owner.auth, location, 9 * MIB, b"\0"),
    ):
        assert answer.status_code == 404


async def test_an_expired_upload_is_410_until_the_sweeper_leaves_nothing(
    uploads: httpx.AsyncClient, owner: Player, clip_20mib: bytes, aws: Aws, db_url: str
) -> None:
    location = await create(uploads, owner.auth, len(clip_20mib))
    assert (await send(uploads, owner.auth, location, 0, clip_20mib[: 9 * MIB])).status_code == 204
    await _expire(db_url, id_of(location))
    # Gone for the client at once (410 while ingest still knows it), and swept within seconds.
    statuses = {(await uploads.head(location, headers={**TUS, **owner.auth})).status_code}
    statuses.add((await send(uploads, owner.auth, location, 9 * MIB, b"\0")).status_code)
    assert statuses <= {410, 404}
    for _ in range(100):
        if await leftovers(aws, db_url, id_of(location)) == NOTHING:
            break
        await asyncio.sleep(0.2)
    assert await leftovers(aws, db_url, id_of(location)) == NOTHING
    assert (await uploads.head(location, headers={**TUS, **owner.auth})).status_code == 404


async def test_a_clip_sent_in_pieces_becomes_a_video_as_if_sent_at_once(
    uploads: httpx.AsyncClient, owner: Player, clip_20mib: bytes, aws: Aws, db_url: str
) -> None:
    # creation-with-upload carries the first 3 MiB; then a PATCH across a part boundary; then the rest.
    created = await uploads.post(
        "/api/uploads/",
        content=clip_20mib[: 3 * MIB],
        headers={
            **TUS,
            **OCTETS,
            **owner.auth,
            "Upload-Length": str(len(clip_20mib)),
            "Upload-Metadata": metadata(title="Clavada en partes", filename="clavada.mp4"),
        },
    )
    assert created.status_code == 201, created.text
    assert created.headers["Upload-Offset"] == str(3 * MIB)
    location = created.headers["Location"]
    video = f"/api/videos/{id_of(location)}"
    middle = await send(uploads, owner.auth, location, 3 * MIB, clip_20mib[3 * MIB : 11 * MIB + 5])
    assert middle.status_code == 204
    assert middle.headers["Upload-Offset"] == str(11 * MIB + 5)
    assert "ANB-Video-Status" not in middle.headers
    assert (await uploads.get(video, headers=owner.auth)).status_code == 404
    last = await send(uploads, owner.auth, location, 11 * MIB + 5, clip_20mib[11 * MIB + 5 :])
    assert last.status_code == 204, last.text
    assert last.headers["Upload-Offset"] == str(len(clip_20mib))
    assert last.headers["ANB-Video-Status"] == "uploaded"
    detail = await uploads.get(video, headers=owner.auth)
    assert detail.status_code == 200
    assert detail.json()["title"] == "Clavada en partes"
    assert detail.json()["status"] in {"uploaded", "processing"}
    # The stored original is the source, byte for byte; the upload itself left nothing else.
    async with aws.s3() as s3:
        stored = await s3.get_object(Bucket=aws.settings.bucket, Key=f"uploads/{id_of(location)}.mp4")
        body = await stored["Body"].read()
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(clip_20mib).hexdigest()
    rest = await leftovers(aws, db_url, id_of(location))
    assert (rest.rows, rest.multipart_uploads, rest.objects) == (0, [], [f"uploads/{id_of(location)}.mp4"])
    # A client that resumes a finished upload learns that it is complete.
    finished = await uploads.head(location, headers={**TUS, **owner.auth})
    assert (finished.status_code, finished.headers["Upload-Offset"]) == (200, str(len(clip_20mib)))


async def test_a_720p_moov_first_clip_is_refused_within_its_first_8_mib_patch(
    uploads: httpx.AsyncClient, owner: Player, session_tmp: Path, aws: Aws, db_url: str
) -> None:
    clip = make_clip(session_tmp / "tus-720p.mp4", width=1280, height=720, seconds=21, fps=2)
    data = padded(
        moov_first(clip, session_tmp / "tus-720p-fast.mp4"), session_tmp / "tus-720p-30mib.mp4", 30 * MIB
    )
    location = await create(uploads, owner.auth, len(data.read_bytes()))
    first = await send(uploads, owner.auth, location, 0, data.read_bytes()[: 8 * MIB])
    assert first.status_code == 400
    assert _detail(first) == wording.upload_refusal(
        Reason(UploadRule.RESOLUTION, {"width": 1280, "height": 720, "min_short_side_px": 1080})
    )
    assert await leftovers(aws, db_url, id_of(location)) == NOTHING
    assert (await uploads.head(location, headers={**TUS, **owner.auth})).status_code == 404


async def test_two_patches_at_once_one_writes_the_other_is_423(
    uploads: httpx.AsyncClient, owner: Player, clip_20mib: bytes, aws: Aws
) -> None:
    location = await create(uploads, owner.auth, len(clip_20mib))
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield clip_20mib[:MIB]
        started.set()
        await release.wait()
        yield clip_20mib[MIB:]

    writing = asyncio.create_task(
        uploads.patch(location, content=slow(), headers={**TUS, **OCTETS, **owner.auth, "Upload-Offset": "0"})
    )
    await started.wait()
    await asyncio.sleep(0.5)  # the first PATCH's bytes have reached ingest, which holds the lease
    second = await send(uploads, owner.auth, location, 0, clip_20mib)
    release.set()
    first = await writing
    assert (first.status_code, second.status_code) == (204, 423), (first.text, second.text)
    assert _detail(second) == wording.tus_refusal(Reason(TusRule.LOCKED))
    assert first.headers["ANB-Video-Status"] == "uploaded"
    async with aws.s3() as s3:
        stored = await s3.get_object(Bucket=aws.settings.bucket, Key=f"uploads/{id_of(location)}.mp4")
        assert hashlib.sha256(await stored["Body"].read()).digest() == hashlib.sha256(clip_20mib).digest()


async def test_the_web_session_cookie_is_accepted(uploads: httpx.AsyncClient, owner: Player) -> None:
    response = await uploads.post(
        "/api/uploads/",
        headers={
            **TUS,
            "Upload-Length": "10",
            "Upload-Metadata": metadata(title="t"),
            "Cookie": f"{SESSION_COOKIE}={owner.token}",
        },
    )
    assert response.status_code == 201
    await uploads.delete(response.headers["Location"], headers={**TUS, **owner.auth})


async def test_cors_lets_a_browser_read_the_tus_headers(uploads: httpx.AsyncClient, owner: Player) -> None:
    response = await uploads.post(
        "/api/uploads/",
        headers={
            **TUS,
            **owner.auth,
            "Origin": ORIGIN,
            "Upload-Length": "10",
            "Upload-Metadata": metadata(title="t"),
        },
    )
    exposed = {name.strip().lower() for name in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {
        "location",
        "upload-offset",
        "upload-length",
        "upload-expires",
        "tus-resumable",
        "tus-version",
    } <= exposed
    await uploads.delete(response.headers["Location"], headers={**TUS, **owner.auth})


async def test_a_patch_cut_mid_body_keeps_what_arrived(
    uploads: httpx.AsyncClient, owner: Player, clip_20mib: bytes, aws: Aws, db_url: str
) -> None:
    # tus: the server stores as much of an interrupted PATCH as it received. Here a whole part and
    # 3 MiB after it arrive, then the client goes away.
    location = await create(uploads, owner.auth, len(clip_20mib))
    arrived = 11 * MIB

    async def cut() -> AsyncIterator[bytes]:
        for start in range(0, arrived, MIB):
            yield clip_20mib[start : start + MIB]
        await asyncio.sleep(1)  # the bytes reach ingest before the connection drops
        raise ConnectionResetError("link dropped")

    headers = {**TUS, **OCTETS, **owner.auth, "Upload-Offset": "0", "Content-Length": str(len(clip_20mib))}
    with pytest.raises(ConnectionResetError):
        await uploads.patch(location, content=cut(), headers=headers)
    # Ingest ends the cut PATCH on its own time: until then it holds the lease.
    for _ in range(100):
        if not await _leased(db_url, id_of(location)):
            break
        await asyncio.sleep(0.2)
    head = await uploads.head(location, headers={**TUS, **owner.auth})
    assert head.headers["Upload-Offset"] == str(arrived)
    rest = await send(uploads, owner.auth, location, arrived, clip_20mib[arrived:])
    assert rest.status_code == 204, rest.text
    assert rest.headers["ANB-Video-Status"] == "uploaded"


async def test_a_patch_slower_than_the_minimum_rate_is_408_and_keeps_what_arrived(
    uploads: httpx.AsyncClient, owner: Player, clip_20mib: bytes, db_url: str
) -> None:
    location = await create(uploads, owner.auth, len(clip_20mib))

    async def trickle() -> AsyncIterator[bytes]:
        yield clip_20mib[:MIB]
        await asyncio.sleep(STALL_S + 3)  # the link stalls past what the pace allows
        yield clip_20mib[MIB : 2 * MIB]

    headers = {**TUS, **OCTETS, **owner.auth, "Upload-Offset": "0", "Content-Length": str(2 * MIB)}
    try:
        answer = await uploads.patch(location, content=trickle(), headers=headers)
    except httpx.HTTPError:
        pass  # the gateway may close before the client reads its answer
    else:
        assert answer.status_code == 408, answer.text
        assert _detail(answer) == wording.tus_too_slow(16 * 1024)
    for _ in range(100):
        if not await _leased(db_url, id_of(location)):
            break
        await asyncio.sleep(0.2)
    # What arrived before the stall is kept (a tail shorter than a part): the client resumes from it.
    head = await uploads.head(location, headers={**TUS, **owner.auth})
    assert head.headers["Upload-Offset"] == str(MIB)
    assert (await uploads.delete(location, headers={**TUS, **owner.auth})).status_code == 204
