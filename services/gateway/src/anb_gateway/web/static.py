"""The web app's scripts and styles, served from memory by the gateway (no CDN, no build step).

Files under ``static/`` (our own and the pinned copies in ``static/vendor/``, see
services/gateway/web-vendor) are read once at start-up, each with a gzip copy made then, so that an
answer is a dictionary lookup: no file I/O and no compression per request. Pages link them as
``/static/<path>?v=<digest>``: the digest changes with the content, so browsers may keep a file a year.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException

ROOT = Path(__file__).parent / "static"
_YEAR = "public, max-age=31536000, immutable"
# Litestar adds "; charset=utf-8" to a text/* type itself (a charset here was sent twice).
_TYPES = {".js": "text/javascript", ".css": "text/css"}


@dataclass(frozen=True)
class StaticFile:
    body: bytes
    gzipped: bytes
    media_type: str
    digest: str


def _load(path: Path) -> StaticFile:
    body = path.read_bytes()
    media_type = _TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return StaticFile(
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        media_type=media_type,
        digest=hashlib.sha256(body).hexdigest()[:12],
    )


FILES: dict[str, StaticFile] = {
    path.relative_to(ROOT).as_posix(): _load(path) for path in sorted(ROOT.rglob("*")) if path.is_file()
}


def url(name: str) -> str:
    """The address a page links ``name`` (a path under static/) by; a missing name fails the render."""
    return f"/static/{name}?v={FILES[name].digest}"


@get("/static/{name:path}", include_in_schema=False, opt={"web_static": True})
async def static_file(request: Request[Any, Any, Any], name: str) -> Response[bytes]:
    found = FILES.get(name.lstrip("/"))
    if found is None:
        raise NotFoundException()
    gzipped = "gzip" in request.headers.get("accept-encoding", "")
    headers = {"Cache-Control": _YEAR, "Vary": "Accept-Encoding"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return Response(found.gzipped if gzipped else found.body, media_type=found.media_type, headers=headers)
