"""What every page handler shares: the web app's parts (one per process), how a page is answered,
and who is asking."""

from __future__ import annotations

import time
import uuid
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlencode

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.response import Redirect, Template

from anb_common.settings import UploadLimits
from anb_gateway.tokens import Tokens
from anb_gateway.web import i18n
from anb_gateway.web.csrf import Csrf
from anb_gateway.web.inprocess import Api
from anb_gateway.web.session import SESSION_COOKIE, cookie_user

T = TypeVar("T")

# Notices a redirect may ask the next page to show (``?notice=<name>``); anything else is ignored, so
# that a link cannot make a page say what its author wants.
NOTICES = frozenset({"signed_up", "logged_in", "logged_out", "uploaded", "published", "deleted", "poster"})


# Fields other work adds to the API's answers (posters, storyboards, HLS): absent until then, and null
# for videos processed before. Pages read them as None either way.
MEDIA_FIELDS = ("poster_url", "storyboard_url", "hls_url")


def with_media(video: dict[str, Any]) -> dict[str, Any]:
    return {**dict.fromkeys(MEDIA_FIELDS), **video}


class TtlCache(Generic[T]):
    """Values kept for ``ttl_s``; bounded (cleared when full) so memory cannot grow with what
    clients ask for."""

    def __init__(self, ttl_s: float, max_entries: int) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._entries: dict[Hashable, tuple[float, T]] = {}

    def get(self, key: Hashable) -> T | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def put(self, key: Hashable, value: T) -> T:
        if len(self._entries) >= self._max_entries:
            self._entries.clear()
        self._entries[key] = (time.monotonic() + self._ttl_s, value)
        return value

    def clear(self) -> None:
        self._entries.clear()


@dataclass
class Web:
    """The web app's parts, built once per process (web.routes.router) and handed to handlers as ``web``."""

    tokens: Tokens
    csrf: Csrf
    limits: UploadLimits
    csp: str
    api: Api = field(init=False)
    # Public listings change with every vote; a few seconds of age spare the database and the
    # presigner under a crowd (the gateway benchmark's gallery_p95_ms), and a voter's own vote is
    # shown from the vote's answer, not from here.
    listings: TtlCache[Any] = field(default_factory=lambda: TtlCache(5.0, 2_000))
    cities: TtlCache[list[str]] = field(default_factory=lambda: TtlCache(300.0, 1))
    videos: TtlCache[Any] = field(default_factory=lambda: TtlCache(5.0, 5_000))
    cards: TtlCache[Any] = field(default_factory=lambda: TtlCache(5.0, 2_000))
    visitor_pages: TtlCache[bytes] = field(default_factory=lambda: TtlCache(5.0, 2_000))

    def public_changed(self) -> None:
        """A vote, a publication or a new poster from this process: its pages show it at once."""
        self.listings.clear()
        self.cards.clear()
        self.visitor_pages.clear()
        self.videos.clear()

    def __post_init__(self) -> None:
        self.api = Api(self.tokens)


@dataclass(frozen=True)
class Player:
    """A signed-in player: the id and the session's token (the API's own access token)."""

    user_id: uuid.UUID
    token: str


class LoginRequired(HTTPException):
    """The page needs a session and has none (or it expired): answered with the login page."""

    status_code = 401


def viewer(request: Request[Any, Any, Any], web: Web) -> Player | None:
    user = cookie_user(request, web.tokens)
    return None if user is None else Player(user, request.cookies[SESSION_COOKIE])


def player(request: Request[Any, Any, Any], web: Web) -> Player:
    """The signed-in player, or LoginRequired."""
    found = viewer(request, web)
    if found is None:
        raise LoginRequired()
    return found


def headers(web: Web) -> dict[str, str]:
    # Pages carry a form token and a player's own data: never kept by a cache, shared or not.
    return {"Content-Security-Policy": web.csp, "Cache-Control": "no-store"}


def context(
    request: Request[Any, Any, Any], web: Web, csrf: str | None = None, **values: Any
) -> dict[str, Any]:
    """What every page's template gets, then the page's own ``values``."""
    catalogue = i18n.for_connection(request)
    notice = request.query_params.get("notice")
    return {
        "t": catalogue,
        "player": viewer(request, web),
        "csrf": web.csrf.token(request) if csrf is None else csrf,
        "here": here(request),
        "notice": catalogue(f"notice.{notice}") if notice in NOTICES else None,
        "said": None,  # the API's sentence after an action, where a fragment shows one
        **values,
    }


def page(
    request: Request[Any, Any, Any], web: Web, template: str, *, status_code: int = 200, **values: Any
) -> Template:
    response = Template(
        template_name=template,
        context=context(request, web, **values),
        status_code=status_code,
        headers=headers(web),
        media_type="text/html",
    )
    web.csrf.keep(request, response)
    return response


def html(request: Request[Any, Any, Any], web: Web, body: bytes) -> Response[bytes]:
    """A page rendered before (and kept), with this visitor's form token."""
    response = Response(body, headers=headers(web), media_type="text/html")
    web.csrf.keep(request, response)
    return response


def here(request: Request[Any, Any, Any]) -> str:
    """This page's path and query, to come back to after logging in."""
    query = request.scope.get("query_string", b"").decode("latin-1")
    return request.url.path + (f"?{query}" if query else "")


def safe_next(target: str | None, fallback: str = "/") -> str:
    """A place on this site to go next: a path, never another host (``//evil``, ``/\\evil``)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return fallback
    return target


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def wants_json(request: Request[Any, Any, Any]) -> bool:
    return "application/json" in request.headers.get("accept", "")


def go(request: Request[Any, Any, Any], web: Web, target: str, notice: str | None = None) -> Response[Any]:
    """After a form: to ``target`` (303), or for htmx the same through ``HX-Redirect``."""
    if notice is not None:
        target += ("&" if "?" in target else "?") + urlencode({"notice": notice})
    if is_htmx(request):
        response: Response[Any] = Response(
            b"", status_code=200, headers={**headers(web), "HX-Redirect": target}
        )
    else:
        response = Redirect(target, status_code=303, headers=headers(web))
    web.csrf.keep(request, response)
    return response


def login_url(target: str) -> str:
    return "/login?next=" + quote(target, safe="/")
