"""What handlers receive, by name: each handler's signature lists what it uses, and ``providers``
hands out the process's one instance of each (opened and closed with the app by runtime.Runtime).

Marked explicitly, as Litestar asks (inferred injection is deprecated), and not validated: they are
our own objects, and Litestar would otherwise check each one's type on every request. The providers
of ``user_id`` (authn, streamed_upload) spell their ``tokens`` parameter out instead of importing
these names: this module imports every injected type, and those modules must not import it back.
"""

from __future__ import annotations

import uuid
from typing import TypeAlias

from litestar import Litestar
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation
from litestar.routes import HTTPRoute

from anb_common.readiness import Readiness
from anb_gateway.db import Pool
from anb_gateway.events import VideoEvents
from anb_gateway.listings import OwnerListings
from anb_gateway.login_attempts import LoginAttempts
from anb_gateway.media_files import MediaFiles
from anb_gateway.media_links import MediaLinks
from anb_gateway.passwords import Passwords
from anb_gateway.poster_relay import PosterRelay
from anb_gateway.runtime import Runtime
from anb_gateway.schemas.videos import VideoSummary
from anb_gateway.storage import Storage
from anb_gateway.tokens import Tokens
from anb_gateway.tus_relay import TusRelay
from anb_gateway.upload import IngestProxy

PoolDep: TypeAlias = NamedDependency[SkipValidation[Pool]]
"""The database connection pool, as ``pool``."""
StorageDep: TypeAlias = NamedDependency[SkipValidation[Storage]]
"""Download links and deletion in object storage, as ``storage``."""
ListingsDep: TypeAlias = NamedDependency[SkipValidation[OwnerListings[list[VideoSummary]]]]
"""Players' own listings kept in memory, as ``listings``."""
IngestDep: TypeAlias = NamedDependency[SkipValidation[IngestProxy]]
"""The upload relay to ingest, as ``ingest``."""
TusDep: TypeAlias = NamedDependency[SkipValidation[TusRelay]]
"""The relay of resumable (tus) uploads to ingest, as ``tus``."""
TokensDep: TypeAlias = NamedDependency[SkipValidation[Tokens]]
"""Access tokens (issue, verify), as ``tokens``."""
PasswordsDep: TypeAlias = NamedDependency[SkipValidation[Passwords]]
"""Password hashing, as ``passwords``."""
LoginAttemptsDep: TypeAlias = NamedDependency[SkipValidation[LoginAttempts]]
"""Failed logins per account, as ``login_attempts``."""
ReadinessDep: TypeAlias = NamedDependency[SkipValidation[Readiness]]
"""The deep check (the database answers), as ``readiness``."""
EventsDep: TypeAlias = NamedDependency[SkipValidation[VideoEvents]]
"""The live events of players' videos, as ``events``."""
MediaLinksDep: TypeAlias = NamedDependency[SkipValidation[MediaLinks]]
"""The links of a video's poster, storyboard and playlist, as ``media_links``."""
MediaFilesDep: TypeAlias = NamedDependency[SkipValidation[MediaFiles]]
"""Playlists and storyboards with presigned links inside, as ``media_files``."""
PostersDep: TypeAlias = NamedDependency[SkipValidation[PosterRelay]]
"""The poster pick relayed to ingest, as ``posters``."""
CurrentUser: TypeAlias = NamedDependency[uuid.UUID]
"""The authenticated caller's id, provided as ``user_id`` by authn.current_user where a route needs it."""


def providers(runtime: Runtime) -> dict[str, Provide]:
    """The app-wide providers of the names above."""

    # One function per name: Litestar refuses one provider under two names.
    def pool() -> Pool:
        return runtime.pool  # read per request: the pool exists only once the app has started

    def storage() -> Storage:
        return runtime.storage

    def listings() -> OwnerListings[list[VideoSummary]]:
        return runtime.listings

    def ingest() -> IngestProxy:
        return runtime.ingest

    def tokens() -> Tokens:
        return runtime.tokens

    def tus() -> TusRelay:
        return runtime.tus

    def passwords() -> Passwords:
        return runtime.passwords

    def login_attempts() -> LoginAttempts:
        return runtime.login_attempts

    def events() -> VideoEvents:
        return runtime.events

    def readiness() -> Readiness:
        return runtime.readiness

    def media_links() -> MediaLinks:
        return runtime.media_links

    def media_files() -> MediaFiles:
        return runtime.media_files

    def posters() -> PosterRelay:
        return runtime.posters

    values = (
        pool, storage, listings, ingest, tus, tokens, passwords, login_attempts, events, readiness,
        media_links, media_files, posters,
    )  # fmt: skip
    return {value.__name__: Provide(value, sync_to_thread=False) for value in values}


def resolve_in_turn(app: Litestar) -> None:
    """Have every route resolve its dependencies one after the other.

    Litestar resolves a handler's dependencies that do not depend on one another concurrently, in
    an anyio task group per request (litestar-org/litestar#4563). Ours only hand out an object, so
    the group buys nothing but its cost: measured in process, a request to the video detail route
    (user, pool, storage) took 118 µs of CPU with it and 42 µs one after the other, the same as when
    handlers took one runtime object. The batches keep their order; each is split into single steps.
    """
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for _handler, kwargs_model in route.route_handler_map.values():
                batches = kwargs_model.dependency_batches
                kwargs_model.dependency_batches = [{dependency} for batch in batches for dependency in batch]
