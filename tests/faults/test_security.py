"""Security checks against the running platform: internal identity, SQL injection, file names, local
file references, expired tokens, response headers. (Secrets in the logs: test_security_logs.py.)"""

from __future__ import annotations

import base64
import json
import re
import shutil
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx
import jwt
import pytest
from hostile import (
    CREDENTIALS,
    PASSWORD,
    Player,
    assert_refused_or_accepted,
    assert_settled_well,
    login,
    new_player,
    secrets_of,
    upload,
    wait_terminal,
)
from hostile_fixtures import (  # noqa: F401 - fixtures
    Clips,
    fixture_api,
    fixture_clips,
    fixture_hostile_platform,
    fixture_initial_pids,
    fixture_player,
)

from anb_common import identity
from anb_common.aws import Aws
from anb_common.db.dsn import libpq_url
from anb_devstack.clips import hls_playlist, make_avi_hls_bait, make_clip, make_hls_bait, watch_opens
from anb_devstack.running import RunningPlatform

pytestmark = pytest.mark.slow

SETTLE_S = 240.0
# Every name after the video id is the platform's own: the original's extension from the sniffed
# container, and the derivatives' fixed names (anb_common.keys, anb_transcoder.hls).
_KEY = re.compile(
    r"^(uploads/[0-9a-f-]{36}\.(mp4|mov|webm|mkv)|processed/[0-9a-f-]{36}\.mp4"
    r"|processed/[0-9a-f-]{36}/(poster-\d+\.jpg|storyboard\.vtt|sprite\.jpg"
    r"|hls/(index\.m3u8|init\.mp4|segment-\d+\.m4s))"
    r"|resources/[a-z]+\.png)$"
)


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _unsigned(claims: dict[str, object]) -> str:
    """A JWT with ``alg: none`` and no signature."""
    return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."


def _dsn(platform: RunningPlatform) -> str:
    return libpq_url(platform.db_url)


# --- ingest's internal identity -------------------------------------------------------------------

INGEST = "/internal/uploads"


def _identity_claims(
    user_id: str, *, age_s: int = 0, audience: str = "anb-internal", method: str = "POST", path: str = INGEST
) -> dict[str, object]:
    """What a gateway token for an upload to ingest holds: each forgery below breaks one thing."""
    now = int(time.time()) - age_s
    return {
        "sub": user_id,
        "aud": audience,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        "htm": method,
        "htu": path,
    }


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the HS512 forgery's key
def test_ingest_refuses_requests_without_a_valid_internal_token(
    hostile_platform: RunningPlatform, api: httpx.Client, clips: Clips
) -> None:
    victim = new_player(api)
    keys = secrets_of(hostile_platform.devdata)
    internal, user_key = keys["internal_secret"], keys["jwt_secret"]
    claims = _identity_claims(victim.user_id)
    forged: dict[str, str | None] = {
        "missing": None,
        "empty": "",
        "garbage": "not-a-token",
        "three garbage parts": "aaaa.bbbb.cccc",
        "expired": jwt.encode(_identity_claims(victim.user_id, age_s=3600), internal, algorithm="HS256"),
        "wrong key": jwt.encode(claims, "k" * 48, algorithm="HS256"),
        "alg none": _unsigned(claims),
        "alg none, uppercase": _unsigned(claims).replace(
            _b64({"alg": "none", "typ": "JWT"}), _b64({"alg": "NONE"})
        ),
        "signed with the user-token key": jwt.encode(claims, user_key, algorithm="HS256"),
        "wrong audience": jwt.encode(
            _identity_claims(victim.user_id, audience="anb"), internal, algorithm="HS256"
        ),
        "HS512 with the right key": jwt.encode(claims, internal, algorithm="HS512"),
        "no expiry": jwt.encode({k: v for k, v in claims.items() if k != "exp"}, internal, algorithm="HS256"),
        "the player's access token": victim.token,
        "for another path": jwt.encode(
            _identity_claims(victim.user_id, path="/internal/other"), internal, algorithm="HS256"
        ),
        "for another method": jwt.encode(
            _identity_claims(victim.user_id, method="PATCH"), internal, algorithm="HS256"
        ),
        "bound to no request": jwt.encode(
            {k: v for k, v in claims.items() if k not in ("htm", "htu")}, internal, algorithm="HS256"
        ),
    }
    body = clips.mp4.read_bytes()
    with httpx.Client(base_url=hostile_platform.ingest_url, timeout=60) as ingest:
        for label, token in forged.items():
            headers = {} if token is None else {identity.HEADER: token}
            response = ingest.post(
                "/internal/uploads",
                headers=headers,
                files={"video_file": ("clip.mp4", body, "video/mp4")},
                data={"title": label},
            )
            assert response.status_code == 401, f"{label}: {response.status_code} {response.text[:200]}"
            assert response.json()["code"] == "identity"
        assert api.get("/videos", headers=victim.auth).json() == [], "a refused upload left a video"
        # Control: the same request with a properly signed token is accepted.
        good = identity.sign(uuid.UUID(victim.user_id), internal, method="POST", path=INGEST)
        CREDENTIALS.add(good)
        accepted = ingest.post(
            "/internal/uploads",
            headers={identity.HEADER: good},
            files={"video_file": ("clip.mp4", body, "video/mp4")},
            data={"title": "signed"},
        )
        # The same token once more, as someone who read it off the first request would send it.
        replayed = ingest.post(
            "/internal/uploads",
            headers={identity.HEADER: good},
            files={"video_file": ("clip.mp4", body, "video/mp4")},
            data={"title": "replayed"},
        )
    assert accepted.status_code == 202, accepted.text
    assert replayed.status_code == 401, replayed.text
    video_id = accepted.json()["video_id"]
    assert_settled_well(wait_terminal(api, victim, [video_id], SETTLE_S), {video_id: "signed upload"})


# --- user tokens --------------------------------------------------------------------------------


def test_expired_and_forged_user_tokens_are_refused(
    hostile_platform: RunningPlatform, api: httpx.Client, player: Player
) -> None:
    key = secrets_of(hostile_platform.devdata)["jwt_secret"]
    now = int(time.time())
    fresh = {"sub": player.user_id, "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex}
    tokens = {
        "expired": jwt.encode({**fresh, "iat": now - 7200, "exp": now - 3600}, key, algorithm="HS256"),
        "expired a second ago": jwt.encode({**fresh, "exp": now - 1}, key, algorithm="HS256"),
        "wrong key": jwt.encode(fresh, "k" * 48, algorithm="HS256"),
        "alg none": _unsigned(fresh),
        "no expiry": jwt.encode({k: v for k, v in fresh.items() if k != "exp"}, key, algorithm="HS256"),
        "not a uuid subject": jwt.encode({**fresh, "sub": "1 OR 1=1"}, key, algorithm="HS256"),
    }
    for label, token in tokens.items():
        for method, path in (("GET", "/videos"), ("POST", f"/public/videos/{uuid.uuid4()}/vote")):
            response = api.request(method, path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, f"{label} {method} {path}: {response.status_code}"
            assert response.json()["detail"]
    # Control: the same claims, unexpired and signed with the key, are accepted.
    valid = jwt.encode(fresh, key, algorithm="HS256")
    CREDENTIALS.add(valid)
    assert api.get("/videos", headers={"Authorization": f"Bearer {valid}"}).status_code == 200


# --- SQL injection --------------------------------------------------------------------------------

INJECTIONS = [
    "' OR '1'='1",
    "' OR 1=1 --",
    "1; DROP TABLE users; --",
    "'); DROP TABLE videos; --",
    "1' UNION SELECT id, password_hash, email, 1, 1 FROM users --",
    "'; UPDATE videos SET vote_count = 999; --",
    "\\'; SELECT pg_sleep(30); --",
    "%' OR city LIKE '%",
]


async def _table_counts(platform: RunningPlatform) -> dict[str, int]:
    connection = await asyncpg.connect(_dsn(platform))
    try:
        return {
            table: int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
            for table in ("users", "videos", "votes", "player_scores", "outbox")
        }
    finally:
        await connection.close()


async def test_sql_injection_in_every_parameter_does_nothing(
    hostile_platform: RunningPlatform, api: httpx.Client, player: Player, clips: Clips
) -> None:
    before = await _table_counts(hostile_platform)
    for payload in INJECTIONS:
        for path in ("/public/videos", "/public/rankings"):
            by_city = api.get(path, params={"city": payload})
            assert by_city.status_code == 200, f"{path} city={payload!r}: {by_city.status_code}"
            assert all(row["city"] == payload for row in by_city.json()), (
                f"{path} city={payload!r} leaked rows"
            )
            for name in ("limit", "offset"):
                response = api.get(path, params={name: payload})
                assert response.status_code == 400, f"{path} {name}={payload!r}: {response.status_code}"
                assert response.json()["detail"]
        for name in ("limit", "offset"):
            mine = api.get("/videos", params={name: payload}, headers=player.auth)
            assert mine.status_code == 400, f"/videos {name}={payload!r}: {mine.status_code}"
        video_path = quote(payload, safe="")
        for method, path in (
            ("GET", f"/videos/{video_path}"),
            ("DELETE", f"/videos/{video_path}"),
            ("POST", f"/videos/{video_path}/publish"),
            ("POST", f"/public/videos/{video_path}/vote"),
        ):
            response = api.request(method, path, headers=player.auth)
            assert response.status_code == 404, (
                f"{method} {path}: {response.status_code} {response.text[:200]}"
            )
        refused = api.post("/auth/login", json={"email": payload, "password": payload})
        assert refused.status_code in (400, 401), f"login {payload!r}: {refused.status_code}"
        refused = api.post("/auth/login", json={"email": player.email, "password": payload})
        assert refused.status_code == 401, f"login with password {payload!r}: {refused.status_code}"
        refused = api.post("/auth/login", json={"email": f"{player.email}' --", "password": "x"})
        assert refused.status_code in (400, 401)

    # Every text field of a signup carries an injection; stored and returned as plain text.
    payload = INJECTIONS[3]
    email = f"inj-{uuid.uuid4().hex[:8]}'--@example.com"
    body = {
        "first_name": INJECTIONS[0], "last_name": payload, "email": email, "password1": payload + PASSWORD,
        "password2": payload + PASSWORD, "city": INJECTIONS[7], "country": INJECTIONS[2],
    }  # fmt: skip
    signup = api.post("/auth/signup", json=body)
    assert signup.status_code in (201, 400), signup.text
    if signup.status_code == 201:
        token = login(api, email, payload + PASSWORD)
        assert api.get("/videos", headers={"Authorization": f"Bearer {token}"}).json() == []
    bad_email = api.post("/auth/signup", json={**body, "email": "x' OR '1'='1"})
    assert bad_email.status_code == 400

    response = upload(api, player, clips.mp4.read_bytes(), title=payload)
    video_id = assert_refused_or_accepted(response, "injection in the title")
    assert video_id is not None
    detail = api.get(f"/videos/{video_id}", headers=player.auth).json()
    assert detail["title"] == payload

    after = await _table_counts(hostile_platform)
    assert after["users"] == before["users"] + (1 if signup.status_code == 201 else 0)
    assert after["videos"] == before["videos"] + 1
    assert after["votes"] == before["votes"]
    assert login(api, player.email, PASSWORD)
    assert_settled_well(wait_terminal(api, player, [video_id], SETTLE_S), {video_id: "title injection"})


# --- file names -----------------------------------------------------------------------------------

HOSTILE_NAMES = [
    "../../etc/passwd.mp4",
    "..\\..\\windows\\win.ini.mp4",
    "/etc/cron.d/anb.mp4",
    "x;rm -rf.mp4",
    "$(touch pwned).mp4",
    "ñandú 🏀 clip\u202egnp.mp4",
    "a" * 5000 + ".mp4",
]


async def test_uploaded_file_names_never_reach_a_key_or_a_path(
    hostile_platform: RunningPlatform, api: httpx.Client, player: Player, clips: Clips
) -> None:
    data = clips.mp4.read_bytes()
    accepted: dict[str, str] = {}
    for name in HOSTILE_NAMES:
        video_id = assert_refused_or_accepted(upload(api, player, data, filename=name), f"name {name[:40]!r}")
        if video_id is not None:
            accepted[video_id] = name
    assert accepted, "no upload with a hostile name was accepted: nothing was tested"
    details = wait_terminal(api, player, list(accepted), SETTLE_S)
    assert_settled_well(details, {video_id: f"name {name[:40]!r}" for video_id, name in accepted.items()})

    connection = await asyncpg.connect(_dsn(hostile_platform))
    try:
        rows = await connection.fetch(
            "SELECT id, original_key, processed_key FROM videos WHERE id = ANY($1::uuid[])", list(accepted)
        )
    finally:
        await connection.close()
    for row in rows:
        assert row["original_key"] == f"uploads/{row['id']}.mp4"
        assert row["processed_key"] in (None, f"processed/{row['id']}.mp4")
    async with Aws(hostile_platform.aws).s3() as s3:
        listed = await s3.list_objects_v2(Bucket=hostile_platform.aws.bucket)
    keys = [item["Key"] for item in listed.get("Contents", [])]
    odd = [key for key in keys if not _KEY.match(key) and key not in ("uploads/", "processed/", "resources/")]
    assert odd == [], f"keys outside the layout: {odd}"
    for probe_path in (Path("/etc/passwd.mp4"), Path("/etc/cron.d/anb.mp4"), Path("pwned")):
        assert not probe_path.exists(), f"{probe_path} was created"
    stray = [
        path
        for path in hostile_platform.devdata.rglob("*")
        if any(
            marker in path.name for marker in ("passwd", "rm -rf", "pwned", "ñandú", "aaaaaaaa", "win.ini")
        )
    ]
    assert stray == []


# --- references to local files --------------------------------------------------------------------


@pytest.fixture(scope="module")
def secret_segment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real, playable ``.ts`` segment (an extension hls segments may have) that nobody may open."""
    folder = tmp_path_factory.mktemp("secret")
    clip = make_clip(folder / "secret.mp4", width=64, height=64, seconds=0.5)
    return Path(shutil.copy(clip, folder / "secret.ts"))


def test_control_the_bait_opens_its_target_when_probed_naively(tmp_path: Path, secret_segment: Path) -> None:
    import av

    bait = make_hls_bait(tmp_path / "clip.mp4", secret_segment)
    with (
        watch_opens(secret_segment) as events,
        av.open(str(bait), format="hls", options={"protocol_whitelist": "file"}),
    ):
        pass
    assert "open" in events


def test_playlists_and_avi_baits_never_read_the_local_file(
    hostile_platform: RunningPlatform,
    api: httpx.Client,
    player: Player,
    clips: Clips,
    tmp_path: Path,
    secret_segment: Path,
) -> None:
    playlist = hls_playlist(secret_segment)
    webm_head = clips.webm.read_bytes()[:64]
    avi = make_avi_hls_bait(tmp_path / "b.avi", secret_segment).read_bytes()
    ftyp = b"\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom\n"
    baits = {
        "playlist named .mp4": (make_hls_bait(tmp_path / "a.mp4", secret_segment).read_bytes(), "clip.mp4"),
        "playlist named .m3u8": (playlist, "clip.m3u8"),
        "AVI with a playlist, named .avi": (avi, "b.avi"),
        "AVI with a playlist, named .mp4": (avi, "c.mp4"),
        "ftyp header then a playlist": (ftyp + playlist, "d.mp4"),
        "WebM header then a playlist": (webm_head + b"\n" + playlist, "e.webm"),
    }
    accepted: dict[str, str] = {}
    with watch_opens(secret_segment) as events:
        for label, (data, name) in baits.items():
            video_id = assert_refused_or_accepted(upload(api, player, data, filename=name), label)
            if video_id is not None:
                accepted[video_id] = label
        # Anything accepted is handled by a worker too: the watch lasts until it has finished.
        assert_settled_well(wait_terminal(api, player, list(accepted), SETTLE_S), accepted)
    assert events == [], f"the local file was opened: {events}"


# --- response headers -----------------------------------------------------------------------------


REFERRER_POLICIES = ("no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin")


def test_responses_carry_security_headers(api: httpx.Client, player: Player) -> None:
    responses = {
        "health": api.get("/health"),
        "openapi": api.get("/openapi.json"),
        "unknown path": api.get("/no-such-thing"),
        "unauthenticated": api.get("/videos"),
        "bad parameter": api.get("/public/videos", params={"limit": "x"}),
        "list": api.get("/videos", headers=player.auth),
        "login": api.post("/auth/login", json={"email": player.email, "password": PASSWORD}),
        "bad login": api.post("/auth/login", json={"email": player.email, "password": "wrong-password"}),
        "bad signup": api.post("/auth/signup", json={"email": player.email}),
    }
    CREDENTIALS.add(responses["login"].json()["access_token"])
    for label, response in responses.items():
        headers = response.headers
        assert headers.get("x-content-type-options") == "nosniff", label
        denied = headers.get("x-frame-options", "").upper() == "DENY"
        assert denied or "frame-ancestors 'none'" in headers.get("content-security-policy", ""), label
        assert headers.get("referrer-policy") in REFERRER_POLICIES, label
        server = headers.get("server", "")
        assert not re.search(r"\d", server), f"{label}: the server header tells a version: {server}"
        assert "x-powered-by" not in headers, label
    for label in ("login", "bad login", "bad signup", "list"):
        assert "no-store" in responses[label].headers.get("cache-control", ""), f"{label}: cacheable"
