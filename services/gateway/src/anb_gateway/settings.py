"""Gateway settings: the shared sections plus what only the public entry point needs."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from anb_common.settings import SecuritySettings, ServiceSettings, UploadLimits, section


class PasswordSettings(BaseSettings):
    """Argon2id cost. The defaults are OWASP's minimum; raising them rehashes users at their next login."""

    model_config = section("ANB_ARGON2_")

    memory_kib: int = Field(default=19 * 1024, ge=19 * 1024)
    """Memory per hash in KiB (OWASP minimum 19 MiB): memory hardness is what slows GPU guessing."""
    time_cost: int = Field(default=2, ge=2)
    """Passes over that memory (OWASP minimum 2)."""
    parallelism: int = Field(default=1, ge=1)
    """Lanes per hash; 1 keeps one login from taking both cores of a small instance."""


class AuthSettings(BaseSettings):
    model_config = section("ANB_AUTH_")

    token_ttl_s: int = Field(default=3600, ge=60)
    """Lifetime of an access token (the contract says 3600): short, since there is no revocation list."""
    rate_limit_per_minute: int = Field(default=30, ge=1)
    """Login and signup attempts per client address and minute: above any person, below a guessing script."""
    account_failures: int = Field(default=10, ge=1)
    """Failed logins per account and window before the account refuses (429) the addresses that failed."""
    account_window_s: float = Field(default=900.0, gt=0)
    """Window of the per-account count: longer slows guessing, and is how long a lock lasts at most."""
    throttle_max_keys: int = Field(default=50_000, ge=1)
    """Addresses, and accounts, each throttle remembers; the oldest is forgotten past it (bounded memory)."""


class HttpSettings(BaseSettings):
    model_config = section("ANB_HTTP_")

    cors_origins: list[str] = Field(default_factory=list)
    """Browser origins allowed to call the API (JSON list); empty keeps CORS closed."""
    presign_expiry_s: int = Field(default=3600, ge=60, le=7 * 24 * 3600)
    """Lifetime of the links handed out: downloads, posters, the links inside playlists and storyboards,
    and the owner's signed links to an unpublished video's playlist and storyboard."""
    ingest_connect_timeout_s: float = 5.0
    """Connecting to ingest inside the VPC takes milliseconds; longer means it is down."""
    ingest_response_timeout_s: float = 300.0
    """Waiting for ingest's answer: it stores and inspects the whole file (100 MB) before answering."""
    ingest_max_uploads: int = Field(default=100, ge=1)
    """Uploads relayed to ingest at once per gateway process; one more waits up to the connect timeout
    for a slot, then gets 503 (load shed, not queued without bound)."""
    ingest_write_idle_s: float = Field(default=60.0, gt=0)
    """Longest one write to ingest may wait for ingest to take it; past it the upload is cut (504), so
    a stuck ingest cannot hold a relay slot."""
    upload_min_rate_bytes_s: int = Field(default=16 * 1024, ge=1)
    """Slowest average pace of an upload body (ingest's too; 100 MB in 100 min); slower senders get
    408, so a trickle cannot hold a relay slot, ingest's multipart upload and its spool."""
    upload_stall_s: float = Field(default=30.0, gt=0)
    """Longest an upload body may lag behind that pace (a stall, a slow start) before its 408."""
    uploads_per_player: int = Field(default=2, ge=1)
    """Uploads one player may have in flight at once, per gateway process; one more gets 429."""


class ListingCacheSettings(BaseSettings):
    """Each player's own listing kept in memory, dropped on the database's change notice (listings.py)."""

    model_config = section("ANB_LISTING_CACHE_")

    ttl_s: float = Field(default=30.0, ge=0)
    """Longest an entry is served even without a change notice; 0 reads every listing from the database."""
    max_owners: int = Field(default=10_000, ge=1)
    """Players whose listings are kept; when full the cache starts over (memory stays bounded)."""


class EventsSettings(BaseSettings):
    """Players' live events, GET /api/videos/events (events.py)."""

    model_config = section("ANB_EVENTS_")

    keepalive_s: float = Field(default=15.0, gt=0, le=15)
    """Longest a stream stays silent before a comment line (the contract's 15 at most): shorter shows a
    dead connection sooner, and keeps any proxy's idle timeout (the ALB's 120 s) from cutting it."""
    resume_events: int = Field(default=10_000, ge=0)
    """Recent events kept (about 300 bytes each) so that a stream reconnecting with Last-Event-ID resumes
    after it; a client further behind gets the snapshot again."""
    resume_window_s: float = Field(default=120.0, ge=0)
    """How long a player's changes are still followed after their last stream here closed, so that a
    reconnect within it resumes; later, the snapshot is sent again."""
    max_pending: int = Field(default=1000, ge=1)
    """Events waiting for one client that does not read; past it its stream is closed (memory stays
    bounded), and it resumes when it reconnects."""


class MediaSettings(BaseSettings):
    """A processed video's pictures and streams: the storyboard and playlist served with presigned
    links inside (media_files.py), and the poster pick relayed to ingest (poster_relay.py)."""

    model_config = section("ANB_MEDIA_")

    cache_entries: int = Field(default=1000, ge=1)
    """Rewritten playlists and storyboards kept in memory (tens of KB each); past it the least recently
    served is dropped and presigned again when asked for."""
    poster_timeout_s: float = Field(default=60.0, gt=0)
    """Longest the gateway waits for ingest to extract a poster from the processed MP4 (a download
    and one decoded frame: about a second); past it the pick answers 504."""


class GatewaySettings(ServiceSettings):
    upload: UploadLimits = Field(default_factory=UploadLimits)
    """Upload limits (ANB_UPLOAD_*)."""
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    """Secrets and dev mode (ANB_DEV_MODE, ANB_JWT_SECRET, ANB_INTERNAL_SECRET)."""
    passwords: PasswordSettings = Field(default_factory=PasswordSettings)
    """Argon2id parameters (ANB_ARGON2_*)."""
    auth: AuthSettings = Field(default_factory=AuthSettings)
    """Token lifetime and login/signup rate limit (ANB_AUTH_*)."""
    http: HttpSettings = Field(default_factory=HttpSettings)
    """CORS, link expiry and the relay to ingest (ANB_HTTP_*)."""
    listing_cache: ListingCacheSettings = Field(default_factory=ListingCacheSettings)
    """The in-memory cache of players' own listings (ANB_LISTING_CACHE_*)."""
    events: EventsSettings = Field(default_factory=EventsSettings)
    """The live events of players' videos (ANB_EVENTS_*)."""
    media: MediaSettings = Field(default_factory=MediaSettings)
    """Storyboards, playlists and the poster pick (ANB_MEDIA_*)."""
    ingest_url: str = "http://127.0.0.1:8001"
    """Base URL of the internal ingest service that uploads are streamed to."""
