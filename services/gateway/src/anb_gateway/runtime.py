"""Everything a request handler uses, built once per process and opened/closed with the app.

Handlers never see the Runtime: they receive its parts by name (anb_gateway.deps).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from anb_common import signing_keys
from anb_common.aws import Aws
from anb_common.db import tls
from anb_common.db.dsn import libpq_url
from anb_common.metrics import Metrics, publishing
from anb_common.readiness import Readiness
from anb_gateway import db
from anb_gateway.changes import ChangeFeed
from anb_gateway.events import VideoEvents
from anb_gateway.listings import OwnerListings
from anb_gateway.login_attempts import LoginAttempts
from anb_gateway.media_files import MediaFiles
from anb_gateway.media_links import MediaLinks
from anb_gateway.passwords import Passwords
from anb_gateway.poster_relay import PosterRelay
from anb_gateway.ratelimit import FixedWindows
from anb_gateway.schemas.videos import VideoSummary
from anb_gateway.settings import GatewaySettings
from anb_gateway.stopping import on_stop_signal
from anb_gateway.storage import S3Storage, Storage
from anb_gateway.tokens import Tokens
from anb_gateway.tus_relay import TusRelay
from anb_gateway.upload import IngestProxy


class Runtime:
    def __init__(self, settings: GatewaySettings, metrics: Metrics) -> None:
        self._settings = settings
        self.metrics = metrics
        # Fails here, before the server binds, when a key is missing or short outside dev mode.
        self.tokens = Tokens(signing_keys.jwt_key(settings.security), settings.auth.token_ttl_s)
        self.passwords = Passwords(settings.passwords)
        auth = settings.auth
        self.auth_limiter = FixedWindows(auth.rate_limit_per_minute, 60.0, auth.throttle_max_keys)
        self.login_attempts = LoginAttempts(
            auth.account_failures, auth.account_window_s, auth.throttle_max_keys
        )
        self._s3 = S3Storage(Aws(settings.aws), settings.http.presign_expiry_s)
        self.storage: Storage = self._s3
        expiry_s = settings.http.presign_expiry_s
        self.media_links = MediaLinks(signing_keys.jwt_key(settings.security), expiry_s, self.storage)
        self.media_files = MediaFiles(self.storage, expiry_s, settings.media.cache_entries)
        self.posters = PosterRelay(
            settings.ingest_url,
            signing_keys.internal_key(settings.security),
            settings.media.poster_timeout_s,
            settings.http.ingest_connect_timeout_s,
        )
        self.ingest = IngestProxy(
            settings.ingest_url,
            signing_keys.internal_key(settings.security),
            settings.upload,
            settings.http,
            metrics,
        )
        self.tus = TusRelay(
            settings.ingest_url,
            signing_keys.internal_key(settings.security),
            settings.upload,
            settings.http,
            metrics,
        )
        cache = settings.listing_cache
        self.listings: OwnerListings[list[VideoSummary]] = OwnerListings(cache.ttl_s, cache.max_owners)
        self.events = VideoEvents(settings.events)
        self._feed = ChangeFeed(
            libpq_url(settings.db.url), self.listings, tls.client_context(settings.db), events=self.events
        )
        self._undo_stop_signal: Callable[[], None] | None = None
        self._pool: db.Pool | None = None
        self.readiness = Readiness("gateway", {"database": self._ping_database}, metrics)
        self._stack = contextlib.AsyncExitStack()
        self._watch: asyncio.Task[None] | None = None

    @property
    def pool(self) -> db.Pool:
        assert self._pool is not None, "Runtime.start() was not awaited"
        return self._pool

    async def _ping_database(self) -> None:
        await self.pool.fetchval("SELECT 1")

    async def start(self) -> None:
        settings = self._settings
        await self._stack.enter_async_context(publishing(self.metrics, Aws(settings.aws), settings.metrics))
        self._pool = await db.create_pool(settings.db)
        await self._s3.start()
        await self.ingest.start()
        await self.posters.start()
        await self.tus.start()
        self.events.start(self.pool)
        self._undo_stop_signal = on_stop_signal(self.events.stop_streams)
        self._feed.start()
        # The first pass tells systemd READY=1: the app has started and the database answers.
        self._watch = asyncio.create_task(self.readiness.watch(), name="readiness")

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self._undo_stop_signal is not None:
            self._undo_stop_signal()
        await self._feed.close()
        await self.events.close()
        await self.ingest.close()
        await self.posters.close()
        await self.tus.close()
        await self._s3.close()
        if self._pool is not None:
            await self._pool.close()
        await self._stack.aclose()
