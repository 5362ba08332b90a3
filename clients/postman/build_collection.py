"""Generate collections/anb.postman_collection.json (Postman v2.1) from this one readable source.

    uv run python clients/postman/build_collection.py          # rewrite the JSON
    uv run python clients/postman/build_collection.py --check  # exit 1 if the JSON is stale

The collection walks docs/api.md in one run: two players sign up, player A uploads (and the
collection waits for processing with a bounded polling loop), publishes, player B votes, and the
rankings show the vote. Every documented error is asserted on the way. Uploads reference files by name
(clip.mp4, short.mp4, lowres.mp4, empty.mp4, not-a-video.mp4) that fixtures.py writes into newman's
--working-dir.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "collections" / "anb.postman_collection.json"

Json = dict[str, Any]

# Processing a 21 s clip takes seconds here; the bound is for a slow CI machine, not the normal case.
PROCESSING_POLLS = 180
PROCESSING_POLL_MS = 1000
# The contract lets a vote take up to 60 s to show in the rankings.
RANKING_POLLS = 75
RANKING_POLL_MS = 1000

UUID_RE = "/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


@dataclass
class File:
    name: str


@dataclass
class Request:
    name: str
    method: str
    path: str
    description: str
    tests: str
    auth: str | None = None
    """The bearer token (usually a variable), or None for no Authorization header."""
    json_body: Any = None
    form: Sequence[tuple[str, str | File]] | None = None
    query: Sequence[tuple[str, str]] = ()
    prerequest: str = ""
    example: tuple[int, Any] | None = None
    raw_url: str | None = None
    """A whole URL from a variable (the presigned download link) instead of base_url + path."""
    headers: dict[str, str] = field(default_factory=dict)


def _lines(script: str) -> list[str]:
    return script.strip("\n").splitlines()


def _event(listen: str, script: str) -> Json:
    return {"listen": listen, "script": {"type": "text/javascript", "exec": _lines(script)}}


def _url(request: Request) -> Json | str:
    if request.raw_url is not None:
        # A plain string: Postman parses it after variables are resolved (an object's raw is ignored).
        return request.raw_url
    query = "&".join(f"{k}={v}" for k, v in request.query)
    raw = "{{base_url}}/" + request.path + (f"?{query}" if query else "")
    url: Json = {"raw": raw, "host": ["{{base_url}}"], "path": request.path.split("/")}
    if request.query:
        url["query"] = [{"key": k, "value": v} for k, v in request.query]
    return url


def _body(request: Request) -> Json | None:
    if request.form is not None:
        items: list[Json] = []
        for key, value in request.form:
            if isinstance(value, File):
                items.append({"key": key, "type": "file", "src": value.name})
            else:
                items.append({"key": key, "type": "text", "value": value})
        return {"mode": "formdata", "formdata": items}
    if request.json_body is not None:
        raw = (
            request.json_body
            if isinstance(request.json_body, str)
            else json.dumps(request.json_body, indent=2)
        )
        return {"mode": "raw", "raw": raw, "options": {"raw": {"language": "json"}}}
    return None


def _auth(request: Request) -> Json:
    if request.auth is None:
        return {"type": "noauth"}
    return {"type": "bearer", "bearer": [{"key": "token", "value": request.auth, "type": "string"}]}


def _request_object(request: Request) -> Json:
    headers = [{"key": k, "value": v} for k, v in request.headers.items()]
    if request.json_body is not None:
        headers.append({"key": "Content-Type", "value": "application/json"})
    if request.form is not None:
        # When the API refuses an upload before reading all of it (401, a bad field), neither newman
        # nor the server closed the half-sent connection, and newman never exited: one connection
        # per upload, closed after the answer, avoids that.
        headers.append({"key": "Connection", "value": "close"})
    obj: Json = {
        "method": request.method,
        "header": headers,
        "auth": _auth(request),
        "url": _url(request),
        "description": request.description,
    }
    body = _body(request)
    if body is not None:
        obj["body"] = body
    return obj


_REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    503: "Service Unavailable",
}


def item(request: Request) -> Json:
    events = []
    if request.prerequest:
        events.append(_event("prerequest", request.prerequest))
    events.append(_event("test", request.tests))
    obj: Json = {"name": request.name, "event": events, "request": _request_object(request)}
    responses = []
    if request.example is not None:
        code, body = request.example
        responses.append(
            {
                "name": f"{code} {_REASONS.get(code, '')}".strip(),
                "originalRequest": _request_object(request),
                "status": _REASONS.get(code, ""),
                "code": code,
                "_postman_previewlanguage": "json",
                "header": [{"key": "Content-Type", "value": "application/json; charset=utf-8"}],
                "body": json.dumps(body, indent=2, ensure_ascii=False),
            }
        )
    obj["response"] = responses
    return obj


def folder(name: str, description: str, requests: Sequence[Request]) -> Json:
    return {"name": name, "description": description, "item": [item(r) for r in requests]}


# --- script snippets ----------------------------------------------------------------------------


def status(code: int) -> str:
    return f"pm.test('answers {code}', () => pm.response.to.have.status({code}));\n"


def error(code: int, detail: str | None = None) -> str:
    script = status(code)
    if detail is not None:
        script += (
            f"pm.test('detail is {detail}', () => "
            f"pm.expect(pm.response.json().detail).to.eql({json.dumps(detail, ensure_ascii=False)}));\n"
        )
    return script


def names_rule(pattern: str) -> str:
    """The detail names the rule broken (api.md); ``pattern`` is a case-insensitive JS regex body."""
    check = f"pm.expect(pm.response.json().detail).to.match(/{pattern}/i)"
    return f"pm.test('detail names the rule', () => {check});\n"


def err_example(code: int, detail: str) -> tuple[int, Json]:
    return (code, {"status_code": code, "detail": detail})


SET_NEXT = """
const goTo = (name) => (pm.execution && pm.execution.setNextRequest)
    ? pm.execution.setNextRequest(name) : postman.setNextRequest(name);
"""


def wait_before_retry(counter: str, delay_ms: int) -> str:
    # Postman's sandbox finishes a script only when its timers have run: this is the polling pause.
    return f"""
if (Number(pm.collectionVariables.get('{counter}') || 0) > 0) {{
    setTimeout(() => {{}}, {delay_ms});
}}
"""


# Every error answer of the API carries status_code and detail (api.md); checked once for all requests.
COLLECTION_TESTS = """
const api = pm.variables.replaceIn('{{base_url}}');
if (pm.request.url.toString().startsWith(api) && pm.response.code >= 400) {
    pm.test('error body has status_code and a detail', () => {
        const body = pm.response.json();
        pm.expect(body.status_code).to.eql(pm.response.code);
        pm.expect(body.detail).to.be.a('string').and.not.empty;
    });
}
"""

# A fresh pair of players per run, so the collection can run again and again on the same platform.
RUN_SETUP = """
const run = Date.now().toString(36) + Math.random().toString(36).slice(2, 7);
pm.collectionVariables.set('run_id', run);
pm.collectionVariables.set('email_a', `ana.${run}@example.com`);
pm.collectionVariables.set('email_b', `luis.${run}@example.com`);
pm.collectionVariables.set('password', 'Cancha-2026-segura');
pm.collectionVariables.set('last_name_a', `Díaz ${run}`);
pm.collectionVariables.set('city_a', `Bogotá ${run}`);
pm.collectionVariables.set('city_b', `Cali ${run}`);
['token_a', 'token_b', 'video_id', 'video2_id', 'processed_url', 'hls_url', 'hls_unsigned_url',
    'public_hls_url', 'voted', 'poll_processing', 'poll_ranking']
    .forEach((name) => pm.collectionVariables.unset(name));
"""


def signup_body(**overrides: Any) -> Json:
    body: Json = {
        "first_name": "Ana",
        "last_name": "{{last_name_a}}",
        "email": "{{email_a}}",
        "password1": "{{password}}",
        "password2": "{{password}}",
        "city": "{{city_a}}",
        "country": "Colombia",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def health_and_docs() -> Json:
    return folder(
        "0 Health and docs",
        "Gateway health (database reachable) and the API's own documentation.",
        [
            Request(
                "Health",
                "GET",
                "health",
                "200 {status: ok} (and the release it runs) when the gateway can serve (database reachable); "
                "503 otherwise.",
                status(200)
                + "pm.test('status ok', () => pm.expect(pm.response.json().status).to.eql('ok'));",
                example=(200, {"status": "ok", "release": "r2"}),
            ),
            Request(
                "OpenAPI schema",
                "GET",
                "openapi.json",
                "The OpenAPI schema of this API.",
                status(200)
                + """
pm.test('is an OpenAPI document with paths', () => {
    const doc = pm.response.json();
    pm.expect(doc.openapi).to.be.a('string');
    pm.expect(Object.keys(doc.paths || {})).to.not.be.empty;
});
""",
                example=(200, {"openapi": "3.1.0", "info": {"title": "ANB Video"}, "paths": {}}),
            ),
            Request(
                "Interactive docs",
                "GET",
                "docs",
                "Interactive documentation (HTML).",
                status(200) + "pm.test('is a page', () => pm.expect(pm.response.text()).to.match(/<html/i));",
            ),
        ],
    )


def auth() -> Json:
    created = {"message": "Usuario creado exitosamente.", "user_id": "9b2f7a1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"}
    signup_ok = (
        status(201)
        + f"""
pm.test('created message and user id', () => {{
    const body = pm.response.json();
    pm.expect(body.message).to.eql('Usuario creado exitosamente.');
    pm.expect(body.user_id).to.match({UUID_RE});
}});
"""
    )
    login_ok = (
        status(200)
        + """
const body = pm.response.json();
pm.test('bearer token valid for an hour', () => {
    pm.expect(body.access_token).to.be.a('string');
    pm.expect(body.access_token.split('.')).to.have.lengthOf(3);
    pm.expect(body.token_type).to.eql('Bearer');
    pm.expect(body.expires_in).to.eql(3600);
});
"""
    )
    token = {
        "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIuLi4ifQ.c2lnbmF0dXJl",
        "token_type": "Bearer",
        "expires_in": 3600,
    }
    return folder(
        "1 Auth",
        "Sign-up and login. Player A (uploads) and player B (votes) are new on every run.",
        [
            Request(
                "Sign up player A",
                "POST",
                "auth/signup",
                "Creates a player. All seven fields are required strings; the email is unique "
                "case-insensitively and the password has at least 8 characters.",
                signup_ok + "pm.collectionVariables.set('user_a_id', pm.response.json().user_id);",
                json_body=signup_body(),
                prerequest=RUN_SETUP,
                example=(201, created),
            ),
            Request(
                "Sign up: duplicate email (other case) → 400",
                "POST",
                "auth/signup",
                "The same email in upper case is a duplicate.",
                error(400),
                json_body=signup_body(email="{{email_a_upper}}"),
                prerequest="pm.collectionVariables.set('email_a_upper', "
                "pm.collectionVariables.get('email_a').toUpperCase());",
                example=err_example(400, "El email ya está registrado."),
            ),
            Request(
                "Sign up: passwords differ → 400",
                "POST",
                "auth/signup",
                "password1 and password2 must match.",
                error(400),
                json_body=signup_body(email="otra.{{run_id}}@example.com", password2="{{password}}-distinta"),
                example=err_example(400, "Las contraseñas no coinciden."),
            ),
            Request(
                "Sign up: invalid email → 400",
                "POST",
                "auth/signup",
                "The email must be a valid address.",
                error(400),
                json_body=signup_body(email="no-es-un-correo"),
                example=err_example(400, "email: no es una dirección de correo válida."),
            ),
            Request(
                "Sign up: password shorter than 8 → 400",
                "POST",
                "auth/signup",
                "Passwords have at least 8 characters.",
                error(400),
                json_body=signup_body(
                    email="corta.{{run_id}}@example.com", password1="1234567", password2="1234567"
                ),
                example=err_example(400, "password1: debe tener al menos 8 caracteres."),
            ),
            Request(
                "Sign up: missing field → 400",
                "POST",
                "auth/signup",
                "Every field is required (here: city).",
                error(400),
                json_body=signup_body(email="sinciudad.{{run_id}}@example.com", city=None),
                example=err_example(400, "city: campo requerido."),
            ),
            Request(
                "Sign up: empty field → 400",
                "POST",
                "auth/signup",
                "Fields may not be empty (here: first_name).",
                error(400),
                json_body=signup_body(email="vacio.{{run_id}}@example.com", first_name=""),
                example=err_example(400, "first_name: no puede estar vacío."),
            ),
            Request(
                "Sign up: over-long field → 400",
                "POST",
                "auth/signup",
                "Fields have a maximum length (here: a 1000-character first_name).",
                error(400),
                json_body=signup_body(email="largo.{{run_id}}@example.com", first_name="A" * 1000),
                example=err_example(400, "first_name: demasiado largo."),
            ),
            Request(
                "Sign up: body is not an object → 400",
                "POST",
                "auth/signup",
                "An unknown JSON shape is a validation error, not a server error.",
                error(400),
                json_body='["Ana", "Díaz"]',
                example=err_example(400, "El cuerpo debe ser un objeto JSON."),
            ),
            Request(
                "Sign up player B",
                "POST",
                "auth/signup",
                "The second player, who votes for A's video.",
                signup_ok,
                json_body=signup_body(
                    first_name="Luis", last_name="Pérez", email="{{email_b}}", city="{{city_b}}"
                ),
                example=(201, created),
            ),
            Request(
                "Log in player A",
                "POST",
                "auth/login",
                "Returns a JWT valid for expires_in seconds; send it as `Authorization: Bearer <token>`.",
                login_ok + "pm.collectionVariables.set('token_a', body.access_token);",
                json_body={"email": "{{email_a}}", "password": "{{password}}"},
                example=(200, token),
            ),
            Request(
                "Log in: wrong password → 401",
                "POST",
                "auth/login",
                "Invalid credentials.",
                error(401) + "pm.collectionVariables.set('login_401_detail', pm.response.json().detail);",
                json_body={"email": "{{email_a}}", "password": "{{password}}-mal"},
                example=err_example(401, "Credenciales inválidas."),
            ),
            Request(
                "Log in: unknown email → 401 (same answer)",
                "POST",
                "auth/login",
                "An unknown email gets exactly the answer a wrong password gets.",
                error(401)
                + "pm.test('same detail as a wrong password', () => pm.expect(pm.response.json().detail)"
                ".to.eql(pm.collectionVariables.get('login_401_detail')));",
                json_body={"email": "nadie.{{run_id}}@example.com", "password": "{{password}}"},
                example=err_example(401, "Credenciales inválidas."),
            ),
            Request(
                "Log in player B",
                "POST",
                "auth/login",
                "Player B's token.",
                login_ok + "pm.collectionVariables.set('token_b', body.access_token);",
                json_body={"email": "{{email_b}}", "password": "{{password}}"},
                example=(200, token),
            ),
        ],
    )


def videos() -> Json:
    accepted = {
        "message": "Video subido correctamente. Procesamiento en curso.",
        "task_id": "1f0e2d3c-4b5a-4697-8877-665544332211",
        "video_id": "1f0e2d3c-4b5a-4697-8877-665544332211",
    }
    upload_ok = (
        status(202)
        + f"""
const body = pm.response.json();
pm.test('accepted for processing', () => {{
    pm.expect(body.message).to.eql('Video subido correctamente. Procesamiento en curso.');
    pm.expect(body.video_id).to.match({UUID_RE});
    pm.expect(body.task_id).to.eql(body.video_id);
}});
"""
    )
    missing_auth = "No Authorization header: 401."
    summary = {
        "video_id": accepted["video_id"],
        "title": "Clavada",
        "status": "processing",
        "uploaded_at": "2026-03-10T14:30:00Z",
    }
    detail = {
        **summary,
        "status": "processed",
        "processed_at": "2026-03-10T14:31:05Z",
        "original_url": "http://127.0.0.1:5000/anb-videos/uploads/...mp4?X-Amz-Signature=...",
        "processed_url": "http://127.0.0.1:5000/anb-videos/processed/...mp4?X-Amz-Signature=...",
        "votes": 0,
        "published": False,
    }
    return folder(
        "2 Videos",
        "Player A's videos: upload (multipart, streamed), list, detail, delete, and their errors.",
        [
            Request(
                "List videos: no token → 401",
                "GET",
                "videos",
                missing_auth,
                error(401),
                example=err_example(401, "Falta el token de autenticación."),
            ),
            Request(
                "List videos: invalid token → 401",
                "GET",
                "videos",
                "A token that is not a valid, unexpired JWT: 401.",
                error(401),
                auth="not-a-valid-token",
                example=err_example(401, "Token inválido o expirado."),
            ),
            Request(
                "Upload: no token → 401",
                "POST",
                "videos/upload",
                missing_auth,
                error(401),
                # A tiny file: the gateway answers 401 before reading the body, and a large body still
                # being written when the server closes the connection would end in a reset instead.
                form=[("title", "Sin token"), ("video_file", File("not-a-video.mp4"))],
                example=err_example(401, "Falta el token de autenticación."),
            ),
            Request(
                "Upload: missing video_file → 400",
                "POST",
                "videos/upload",
                "The form must carry the file in `video_file`.",
                error(400) + names_rule("video_file"),
                auth="{{token_a}}",
                form=[("title", "Sin archivo")],
                example=err_example(400, "video_file: campo requerido."),
            ),
            Request(
                "Upload: missing title → 400",
                "POST",
                "videos/upload",
                "The form must carry `title` (1-200 characters).",
                error(400) + names_rule("title"),
                auth="{{token_a}}",
                form=[("video_file", File("clip.mp4"))],
                example=err_example(400, "title: campo requerido."),
            ),
            Request(
                "Upload: title over 200 characters → 400",
                "POST",
                "videos/upload",
                "Titles have 1 to 200 characters.",
                error(400) + names_rule("title"),
                auth="{{token_a}}",
                form=[("title", "{{long_title}}"), ("video_file", File("clip.mp4"))],
                prerequest="pm.collectionVariables.set('long_title', 'T'.repeat(201));",
                example=err_example(400, "title: como máximo 200 caracteres."),
            ),
            Request(
                "Upload: not a video → 400",
                "POST",
                "videos/upload",
                "A text file named .mp4: only MP4/MOV/WebM/MKV with H.264/HEVC/VP9/AV1 are accepted.",
                error(400) + names_rule("MP4|video"),
                auth="{{token_a}}",
                form=[("title", "Texto"), ("video_file", File("not-a-video.mp4"))],
                example=err_example(400, "El archivo no es un video aceptado (MP4/MOV/WebM/MKV)."),
            ),
            Request(
                "Upload: empty file → 400",
                "POST",
                "videos/upload",
                "A 0-byte file.",
                error(400) + names_rule("empty|vac[ií]o"),
                auth="{{token_a}}",
                form=[("title", "Vacío"), ("video_file", File("empty.mp4"))],
                example=err_example(400, "El archivo está vacío."),
            ),
            Request(
                "Upload: shorter than 20 s → 400",
                "POST",
                "videos/upload",
                "A 5 s 1080p clip: durations must be 20-60 s.",
                error(400) + names_rule("20"),
                auth="{{token_a}}",
                form=[("title", "Corto"), ("video_file", File("short.mp4"))],
                example=err_example(400, "La duración debe estar entre 20 y 60 s (tiene 5.0 s)."),
            ),
            Request(
                "Upload: below 1080p → 400",
                "POST",
                "videos/upload",
                "A 1280x720 clip: the shorter side must be at least 1080. (A file over the size limit, "
                "100 MB by default, is refused the same way.)",
                error(400) + names_rule("1080"),
                auth="{{token_a}}",
                form=[("title", "Baja resolución"), ("video_file", File("lowres.mp4"))],
                example=err_example(400, "La resolución mínima es 1080p (el video es 1280x720)."),
            ),
            Request(
                "Upload video",
                "POST",
                "videos/upload",
                "multipart/form-data with `video_file` (20-60 s, at least 1080p, at most 100 MB) and "
                "`title`. 202: the processing job is already queued; follow it with GET /videos/{id}.",
                upload_ok + "pm.collectionVariables.set('video_id', body.video_id);",
                auth="{{token_a}}",
                form=[("title", "Clavada {{run_id}}"), ("video_file", File("clip.mp4"))],
                example=(202, accepted),
            ),
            Request(
                "Upload a second video (deleted below)",
                "POST",
                "videos/upload",
                "A second upload, used for the not-processed and delete cases.",
                upload_ok + "pm.collectionVariables.set('video2_id', body.video_id);",
                auth="{{token_a}}",
                form=[("title", "Triple {{run_id}}"), ("video_file", File("clip.mp4"))],
                example=(202, accepted),
            ),
            Request(
                "Publish: not processed yet → 400",
                "POST",
                "videos/{{video2_id}}/publish",
                "Only processed videos can be published (this one was uploaded a moment ago).",
                error(400),
                auth="{{token_a}}",
                example=err_example(400, "El video aún no está procesado."),
            ),
            Request(
                "Vote: video not published → 404",
                "POST",
                "public/videos/{{video2_id}}/vote",
                "Votes go only to published videos.",
                error(404),
                auth="{{token_b}}",
                example=err_example(404, "Video no encontrado."),
            ),
            Request(
                "List my videos",
                "GET",
                "videos",
                "The caller's videos, newest first. Optional limit (1-100, default 50) and offset.",
                status(200)
                + """
const list = pm.response.json();
pm.test('newest first, both uploads', () => {
    pm.expect(list).to.be.an('array').with.lengthOf(2);
    pm.expect(list[0].video_id).to.eql(pm.collectionVariables.get('video2_id'));
    pm.expect(list[1].video_id).to.eql(pm.collectionVariables.get('video_id'));
});
pm.test('summary fields', () => list.forEach((v) => {
    pm.expect(v).to.include.keys('video_id', 'title', 'status', 'uploaded_at');
    pm.expect(['uploaded', 'processing', 'processed', 'failed']).to.include(v.status);
    if (v.status !== 'processed') { pm.expect(v.processed_url == null).to.be.true; }
}));
""",
                auth="{{token_a}}",
                example=(200, [summary]),
            ),
            Request(
                "List my videos: limit and offset",
                "GET",
                "videos",
                "Paging: the second newest video alone.",
                status(200)
                + """
const list = pm.response.json();
pm.test('one video, the older one', () => {
    pm.expect(list).to.have.lengthOf(1);
    pm.expect(list[0].video_id).to.eql(pm.collectionVariables.get('video_id'));
});
""",
                auth="{{token_a}}",
                query=[("limit", "1"), ("offset", "1")],
                example=(200, [summary]),
            ),
            Request(
                "Video detail",
                "GET",
                "videos/{{video_id}}",
                "Status, progress while processing, votes, published flag and time-limited download "
                "links (processed_* only once processed; error only when failed).",
                status(200)
                + """
const v = pm.response.json();
pm.test('detail fields', () => {
    pm.expect(v.video_id).to.eql(pm.collectionVariables.get('video_id'));
    pm.expect(v.title).to.eql('Clavada ' + pm.collectionVariables.get('run_id'));
    pm.expect(v.votes).to.eql(0);
    pm.expect(v.published).to.eql(false);
    pm.expect(v.original_url).to.be.a('string').and.match(/^https?:\\/\\//);
    pm.expect(v.uploaded_at).to.match(/^\\d{4}-\\d\\d-\\d\\dT/);
});
""",
                auth="{{token_a}}",
                example=(200, detail),
            ),
            Request(
                "Video detail: other player's video → 403",
                "GET",
                "videos/{{video_id}}",
                "Player B asks for A's video.",
                error(403),
                auth="{{token_b}}",
                example=err_example(403, "El video pertenece a otro usuario."),
            ),
            Request(
                "Video detail: malformed id → 404",
                "GET",
                "videos/not-a-uuid",
                "A malformed id is simply a video that does not exist.",
                error(404),
                auth="{{token_a}}",
                example=err_example(404, "Video no encontrado."),
            ),
            Request(
                "Video detail: unknown id → 404",
                "GET",
                f"videos/{UNKNOWN_ID}",
                "No such video.",
                error(404),
                auth="{{token_a}}",
                example=err_example(404, "Video no encontrado."),
            ),
            Request(
                "Video detail: no token → 401",
                "GET",
                "videos/{{video_id}}",
                missing_auth,
                error(401),
                example=err_example(401, "Falta el token de autenticación."),
            ),
            Request(
                "Delete: other player's video → 403",
                "DELETE",
                "videos/{{video2_id}}",
                "Only the owner deletes.",
                error(403),
                auth="{{token_b}}",
                example=err_example(403, "El video pertenece a otro usuario."),
            ),
            Request(
                "Delete: unknown id → 404",
                "DELETE",
                f"videos/{UNKNOWN_ID}",
                "No such video.",
                error(404),
                auth="{{token_a}}",
                example=err_example(404, "Video no encontrado."),
            ),
            Request(
                "Delete: no token → 401",
                "DELETE",
                "videos/{{video2_id}}",
                missing_auth,
                error(401),
                example=err_example(401, "Falta el token de autenticación."),
            ),
            Request(
                "Delete video",
                "DELETE",
                "videos/{{video2_id}}",
                "Deletes the row, the original and the processed object (also while processing).",
                status(200)
                + """
pm.test('deleted', () => {
    const body = pm.response.json();
    pm.expect(body.message).to.eql('El video ha sido eliminado exitosamente.');
    pm.expect(body.video_id).to.eql(pm.collectionVariables.get('video2_id'));
});
""",
                auth="{{token_a}}",
                example=(
                    200,
                    {"message": "El video ha sido eliminado exitosamente.", "video_id": accepted["video_id"]},
                ),
            ),
            Request(
                "Video detail: deleted video → 404",
                "GET",
                "videos/{{video2_id}}",
                "Gone for good.",
                error(404),
                auth="{{token_a}}",
                example=err_example(404, "Video no encontrado."),
            ),
            Request(
                "Delete: already deleted → 404",
                "DELETE",
                "videos/{{video2_id}}",
                "Deleting twice: no such video.",
                error(404),
                auth="{{token_a}}",
                example=err_example(404, "Video no encontrado."),
            ),
        ],
    )


def processing() -> Json:
    poll = (
        SET_NEXT
        + f"""
const attempt = Number(pm.collectionVariables.get('poll_processing') || 0);
pm.test('answers 200', () => pm.response.to.have.status(200));
const v = pm.response.json();
if (['uploaded', 'processing'].includes(v.status) && attempt < {PROCESSING_POLLS}) {{
    if (v.status === 'processing' && v.progress != null) {{
        pm.expect(v.progress).to.be.within(0, 100);
    }}
    pm.collectionVariables.set('poll_processing', attempt + 1);
    goTo(pm.info.requestName);
}} else {{
    pm.collectionVariables.unset('poll_processing');
    pm.test('processed (not failed, not still waiting)', () => {{
        pm.expect(v.status, v.error).to.eql('processed');
    }});
    pm.test('processed fields', () => {{
        pm.expect(v.processed_url).to.be.a('string').and.match(/^https?:\\/\\//);
        pm.expect(v.processed_at).to.match(/^\\d{{4}}-\\d\\d-\\d\\dT/);
        pm.expect(v.error == null).to.be.true;
    }});
    pm.test('poster, storyboard and HLS links', () => {{
        for (const link of [v.poster_url, v.storyboard_url, v.hls_url]) {{
            pm.expect(link).to.be.a('string').and.match(/^https?:\\/\\//);
        }}
    }});
    pm.collectionVariables.set('processed_url', v.processed_url);
    pm.collectionVariables.set('hls_url', v.hls_url);
    // The same playlist without the owner's signature: what another player or a visitor would have.
    pm.collectionVariables.set('hls_unsigned_url', v.hls_url.split('?')[0]);
}}
"""
    )
    return folder(
        "3 Processing",
        "Polls the upload until the transcoder is done (a bounded setNextRequest loop, "
        f"{PROCESSING_POLLS} × {PROCESSING_POLL_MS} ms at most), then downloads the result.",
        [
            Request(
                "Wait until processed",
                "GET",
                "videos/{{video_id}}",
                "Repeats itself while status is uploaded/processing; passes once processed.",
                poll,
                auth="{{token_a}}",
                prerequest=wait_before_retry("poll_processing", PROCESSING_POLL_MS),
            ),
            Request(
                "Download processed video (presigned URL)",
                "GET",
                "",
                "processed_url is a time-limited link straight to storage: no Authorization header.",
                status(200)
                + """
pm.test('an MP4 file', () => {
    const bytes = pm.response.stream;
    pm.expect(bytes.length).to.be.above(1000);
    pm.expect(bytes.slice(4, 8).toString()).to.eql('ftyp');
});
""",
                raw_url="{{processed_url}}",
            ),
            Request(
                "HLS playlist (the owner's signed link)",
                "GET",
                "",
                "hls_url: a VOD playlist whose every URI is a time-limited link straight to storage, so "
                "a player needs no credentials.",
                status(200)
                + """
pm.test('a VOD playlist with absolute segment links', () => {
    const text = pm.response.text();
    pm.expect(text).to.include('#EXT-X-PLAYLIST-TYPE:VOD');
    pm.expect(text).to.include('#EXT-X-ENDLIST');
    pm.expect(text).to.match(/#EXT-X-MAP:URI="https?:\\/\\//);
    const uris = text.split('\\n').filter((line) => line && !line.startsWith('#'));
    pm.expect(uris.length).to.be.above(0);
    uris.forEach((uri) => pm.expect(uri).to.match(/^https?:\\/\\//));
});
""",
                raw_url="{{hls_url}}",
            ),
            Request(
                "HLS playlist: unpublished, without the owner's link → 404",
                "GET",
                "",
                "An unpublished video's playlist is only for its owner's signed link.",
                error(404, "Video no encontrado."),
                raw_url="{{hls_unsigned_url}}",
            ),
            Request(
                "Pick the poster",
                "POST",
                "videos/{{video_id}}/poster",
                "The owner picks the moment of the poster: seconds from the start of the footage "
                "(after the intro card).",
                status(200)
                + """
pm.test('a new poster link', () => {
    const body = pm.response.json();
    pm.expect(body.message).to.eql('Portada actualizada.');
    pm.expect(body.poster_url).to.be.a('string').and.match(/^https?:\\/\\//);
});
""",
                auth="{{token_a}}",
                json_body={"time_s": 1.5},
                example=(200, {"message": "Portada actualizada.", "poster_url": "https://..."}),
            ),
            Request(
                "Pick the poster: past the footage → 400",
                "POST",
                "videos/{{video_id}}/poster",
                "The moment must lie within the player's footage.",
                error(400) + names_rule("time_s"),
                auth="{{token_a}}",
                json_body={"time_s": 999},
            ),
            Request(
                "Pick the poster: other player's video → 403",
                "POST",
                "videos/{{video_id}}/poster",
                "Only the owner picks.",
                error(403, "El video pertenece a otro usuario."),
                auth="{{token_b}}",
                json_body={"time_s": 1.5},
            ),
            Request(
                "Pick the poster: unknown id → 404",
                "POST",
                f"videos/{UNKNOWN_ID}/poster",
                "No such video.",
                error(404, "Video no encontrado."),
                auth="{{token_a}}",
                json_body={"time_s": 1.5},
            ),
            Request(
                "List my videos: processed",
                "GET",
                "videos",
                "processed_at and processed_url appear once processed.",
                status(200)
                + """
const v = pm.response.json().find((x) => x.video_id === pm.collectionVariables.get('video_id'));
pm.test('processed with links and time', () => {
    pm.expect(v.status).to.eql('processed');
    pm.expect(v.processed_url).to.be.a('string');
    pm.expect(v.processed_at).to.be.a('string');
    pm.expect(v.poster_url).to.be.a('string');
    pm.expect(v.storyboard_url).to.be.a('string');
    pm.expect(v.hls_url).to.be.a('string');
});
""",
                auth="{{token_a}}",
            ),
        ],
    )


def publish_and_vote() -> Json:
    vote_ok = "Voto registrado exitosamente."
    ranking_poll = (
        SET_NEXT
        + f"""
const attempt = Number(pm.collectionVariables.get('poll_ranking') || 0);
pm.test('answers 200', () => pm.response.to.have.status(200));
const rows = pm.response.json();
const counted = rows.length === 1 && rows[0].votes >= 1;
// Waiting only makes sense once the vote was taken; otherwise fail now.
const voted = pm.collectionVariables.get('voted') === 'yes';
if (!counted && voted && attempt < {RANKING_POLLS}) {{
    pm.collectionVariables.set('poll_ranking', attempt + 1);
    goTo(pm.info.requestName);
}} else {{
    pm.collectionVariables.unset('poll_ranking');
    pm.test('player A first in the city with one vote', () => {{
        pm.expect(rows).to.eql([{{
            position: 1,
            username: 'Ana ' + pm.collectionVariables.get('last_name_a'),
            city: pm.collectionVariables.get('city_a'),
            votes: 1,
        }}]);
    }});
}}
"""
    )
    bad_params = [("limit", "0"), ("limit", "101"), ("offset", "-1"), ("limit", "abc")]
    published_msg = {"message": "El video ha sido publicado para votación.", "video_id": "1f0e2d3c-..."}
    requests = [
        Request(
            "Publish: other player's video → 403",
            "POST",
            "videos/{{video_id}}/publish",
            "Only the owner publishes.",
            error(403),
            auth="{{token_b}}",
            example=err_example(403, "El video pertenece a otro usuario."),
        ),
        Request(
            "Publish: unknown id → 404",
            "POST",
            f"videos/{UNKNOWN_ID}/publish",
            "No such video.",
            error(404),
            auth="{{token_a}}",
            example=err_example(404, "Video no encontrado."),
        ),
        Request(
            "Publish video",
            "POST",
            "videos/{{video_id}}/publish",
            "Makes a processed video public for voting.",
            status(200)
            + """
pm.test('published', () => {
    const body = pm.response.json();
    pm.expect(body.message).to.eql('El video ha sido publicado para votación.');
    pm.expect(body.video_id).to.eql(pm.collectionVariables.get('video_id'));
});
""",
            auth="{{token_a}}",
            example=(200, published_msg),
        ),
        Request(
            "Publish: already published → 400",
            "POST",
            "videos/{{video_id}}/publish",
            "Publishing twice is refused.",
            error(400),
            auth="{{token_a}}",
            example=err_example(400, "El video ya está publicado."),
        ),
        Request(
            "Publish with PUT: already published → 400",
            "PUT",
            "videos/{{video_id}}/publish",
            "PUT on the publish path answers as POST does (clients of other implementations use PUT).",
            error(400, "El video ya está publicado."),
            auth="{{token_a}}",
            example=err_example(400, "El video ya está publicado."),
        ),
        Request(
            "Delete: published video → 400",
            "DELETE",
            "videos/{{video_id}}",
            "A video published for voting cannot be deleted.",
            error(400),
            auth="{{token_a}}",
            example=err_example(400, "No se puede eliminar un video publicado."),
        ),
        Request(
            "Public videos",
            "GET",
            "public/videos",
            "Published videos, most voted first; auth optional. Optional city, limit (1-100, default 20), "
            "offset.",
            status(200)
            + """
const list = pm.response.json();
pm.test('most voted first', () => {
    for (let i = 1; i < list.length; i++) { pm.expect(list[i - 1].votes).to.be.at.least(list[i].votes); }
});
pm.test('fields', () => list.forEach((v) => pm.expect(v).to.include.keys(
    'video_id', 'title', 'username', 'city', 'votes', 'processed_url', 'poster_url', 'storyboard_url',
    'hls_url')));
""",
            example=(
                200,
                [
                    {
                        "video_id": "1f0e2d3c-...",
                        "title": "Clavada",
                        "username": "Ana Díaz",
                        "city": "Bogotá",
                        "votes": 12,
                        "processed_url": "http://127.0.0.1:5000/...mp4?X-Amz-Signature=...",
                    }
                ],
            ),
        ),
        Request(
            "Public videos: by city",
            "GET",
            "public/videos",
            "Only player A lives in this run's city: exactly A's published video.",
            status(200)
            + """
const list = pm.response.json();
pm.test("player A's video only", () => {
    pm.expect(list).to.have.lengthOf(1);
    pm.expect(list[0].video_id).to.eql(pm.collectionVariables.get('video_id'));
    pm.expect(list[0].username).to.eql('Ana ' + pm.collectionVariables.get('last_name_a'));
    pm.expect(list[0].city).to.eql(pm.collectionVariables.get('city_a'));
    pm.expect(list[0].title).to.eql('Clavada ' + pm.collectionVariables.get('run_id'));
    pm.expect(list[0].processed_url).to.be.a('string');
});
// Published: its playlist is public, by the same plain link for everyone.
pm.collectionVariables.set('public_hls_url', list[0].hls_url);
""",
            query=[("city", "{{city_a}}")],
        ),
        Request(
            "HLS playlist of a published video: public",
            "GET",
            "",
            "A published video's hls_url plays for anyone, without a token or a signature.",
            status(200)
            + """
pm.test('a complete VOD playlist', () => {
    pm.expect(pm.response.text()).to.include('#EXT-X-ENDLIST');
    pm.expect(pm.collectionVariables.get('public_hls_url')).to.not.include('signature=');
});
""",
            raw_url="{{public_hls_url}}",
        ),
        *(
            Request(
                f"Public videos: {key}={value} → 400",
                "GET",
                "public/videos",
                "limit is 1-100 and offset ≥ 0.",
                error(400),
                query=[(key, value)],
                example=err_example(400, f"{key}: valor inválido."),
            )
            for key, value in bad_params
        ),
        Request(
            "Vote: no token → 401",
            "POST",
            "public/videos/{{video_id}}/vote",
            "Voting needs a logged-in player.",
            error(401),
            example=err_example(401, "Falta el token de autenticación."),
        ),
        Request(
            "Vote",
            "POST",
            "public/videos/{{video_id}}/vote",
            "Player B votes for A's published video: one vote per player per video.",
            status(200)
            + "pm.test('vote registered', () => {\n"
            + f"    pm.expect(pm.response.json().message).to.eql('{vote_ok}');\n}});\n"
            + "if (pm.response.code === 200) { pm.collectionVariables.set('voted', 'yes'); }",
            auth="{{token_b}}",
            example=(200, {"message": vote_ok}),
        ),
        Request(
            "Vote: twice → 400",
            "POST",
            "public/videos/{{video_id}}/vote",
            "A second vote by the same player for the same video.",
            error(400, "Ya has votado por este video."),
            auth="{{token_b}}",
            example=err_example(400, "Ya has votado por este video."),
        ),
        Request(
            "Vote: unknown id → 404",
            "POST",
            f"public/videos/{UNKNOWN_ID}/vote",
            "No such published video.",
            error(404),
            auth="{{token_b}}",
            example=err_example(404, "Video no encontrado."),
        ),
        Request(
            "Vote: malformed id → 404",
            "POST",
            "public/videos/not-a-uuid/vote",
            "A malformed id is a video that does not exist.",
            error(404),
            auth="{{token_b}}",
            example=err_example(404, "Video no encontrado."),
        ),
        Request(
            "Rankings",
            "GET",
            "public/rankings",
            "Players ordered by the votes of their published videos; position counts from 1. Optional "
            "city, limit (1-100, default 20), offset.",
            status(200)
            + """
const rows = pm.response.json();
pm.test('positions 1..n, votes descending', () => rows.forEach((row, i) => {
    pm.expect(row).to.have.all.keys('position', 'username', 'city', 'votes');
    pm.expect(row.position).to.eql(i + 1);
    if (i > 0) { pm.expect(rows[i - 1].votes).to.be.at.least(row.votes); }
}));
""",
            example=(
                200,
                [
                    {"position": 1, "username": "Ana Díaz", "city": "Bogotá", "votes": 1530},
                    {"position": 2, "username": "Luis Pérez", "city": "Cali", "votes": 1204},
                ],
            ),
        ),
        Request(
            "Rankings: by city (waits for the vote)",
            "GET",
            "public/rankings",
            "Player A alone in this run's city, position 1, one vote. A vote may take up to 60 s to "
            f"show, so this repeats ({RANKING_POLLS} × {RANKING_POLL_MS} ms at most) until it does.",
            ranking_poll,
            query=[("city", "{{city_a}}")],
            prerequest=wait_before_retry("poll_ranking", RANKING_POLL_MS),
            example=(200, [{"position": 1, "username": "Ana Díaz", "city": "Bogotá", "votes": 1}]),
        ),
        Request(
            "Rankings: limit and offset",
            "GET",
            "public/rankings",
            "Paging keeps positions absolute: the second page starts at position 2.",
            status(200)
            + """
const rows = pm.response.json();
pm.test('at most one row, position 2', () => {
    pm.expect(rows.length).to.be.at.most(1);
    rows.forEach((row) => pm.expect(row.position).to.eql(2));
});
""",
            query=[("limit", "1"), ("offset", "1")],
        ),
        *(
            Request(
                f"Rankings: {key}={value} → 400",
                "GET",
                "public/rankings",
                "limit is 1-100 and offset ≥ 0.",
                error(400),
                query=[(key, value)],
                example=err_example(400, f"{key}: valor inválido."),
            )
            for key, value in bad_params
        ),
        Request(
            "Video detail: published with one vote",
            "GET",
            "videos/{{video_id}}",
            "The owner sees the published flag and the vote count.",
            status(200)
            + """
const v = pm.response.json();
pm.test('published, one vote', () => {
    pm.expect(v.published).to.eql(true);
    pm.expect(v.votes).to.eql(1);
});
""",
            auth="{{token_a}}",
        ),
    ]
    return folder("4 Publish, vote, rankings", "Publishing, public listing, voting and rankings.", requests)


def collection() -> Json:
    return {
        "info": {
            "name": "ANB Video API",
            "description": (
                "The public HTTP API of ANB Video (docs/api.md), with a test script on every request.\n\n"
                "Run it with `make newman` (platform running with `make run`), or in Postman: import this "
                "collection and collections/postman_environment.json, put the files written by "
                "`uv run python clients/postman/fixtures.py DIR` in Postman's working directory, and run "
                "the collection in order (it polls while the video is processed).\n\n"
                "Generated by clients/postman/build_collection.py: edit that file, not this one."
            ),
            "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
        },
        "auth": {"type": "noauth"},
        "event": [_event("test", COLLECTION_TESTS)],
        "variable": [],
        "item": [health_and_docs(), auth(), videos(), processing(), publish_and_vote()],
    }


def render() -> str:
    return json.dumps(collection(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUTPUT.exists() or OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT} is stale: run clients/postman/build_collection.py", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(OUTPUT)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
