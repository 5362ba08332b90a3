"""SQLAlchemy 2 models. The schema itself is owned by the Alembic migrations beside this module."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    FetchedValue,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class VideoStatus(enum.StrEnum):
    """Where a video is in its life, and which service moves it there.

    Ingest writes every row, as ``uploaded``, in the transaction that also writes its job to the
    outbox. Every later change is the transcoder's: ``uploaded`` → ``processing`` when a job takes
    the video's lease (again ``processing`` → ``processing`` when a lapsed lease is taken over);
    ``processing`` → ``processed`` when the result is stored; ``uploaded``/``processing`` →
    ``failed`` when the file cannot be processed, when retries are used up, or when its dead-lettered
    job is swept. The gateway never changes a status: it publishes a ``processed`` video and deletes
    rows (a deletion the transcoder notices as "gone").
    """

    UPLOADED = "uploaded"
    PROCESSING = "processing"
    PROCESSED = "processed"
    FAILED = "failed"


_naming = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Base(DeclarativeBase):
    metadata = _naming


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class User(Base):
    __tablename__ = "users"
    __table_args__ = (Index("uq_users_email_lower", func.lower(text("email")), unique=True),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    city: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = _now()


OWNER_CHANGES_CHANNEL = "video_owner_changes"
"""PostgreSQL NOTIFY channel naming (as payload) a player whose listing changed: a video of theirs was
added, removed, or changed in a column the listing shows (triggers of migration 0002)."""

VIDEO_EVENTS_CHANNEL = "video_events"
"""PostgreSQL NOTIFY channel naming (as JSON ``{"user_id", "video_id"}``) a video that was added or whose
status, progress, failure reason or processing time changed (triggers of migration 0006)."""


class Video(Base):
    __tablename__ = "videos"
    __table_args__ = (
        CheckConstraint("status IN ('uploaded', 'processing', 'processed', 'failed')", name="status_known"),
        CheckConstraint("vote_count >= 0", name="vote_count_non_negative"),
        # The owner's listing: newest first.
        Index("ix_videos_user_id_uploaded_at", "user_id", text("uploaded_at DESC")),
        # The public listing: published videos, most voted first.
        Index(
            "ix_videos_published_votes",
            text("vote_count DESC"),
            "id",
            postgresql_where=text("published"),
        ),
        # The same within one city.
        Index(
            "ix_videos_published_city_votes",
            "owner_city",
            text("vote_count DESC"),
            "id",
            postgresql_where=text("published"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Copied from the owner by the database on insert (migration 0004; players cannot change city).
    owner_city: Mapped[str] = mapped_column(String(100), server_default=FetchedValue())
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=VideoStatus.UPLOADED)
    published: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    uploaded_at: Mapped[datetime] = _now()
    processing_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    progress: Mapped[int] = mapped_column(SmallInteger, server_default=text("0"))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    original_key: Mapped[str] = mapped_column(String(255))
    processed_key: Mapped[str | None] = mapped_column(String(255))
    container: Mapped[str] = mapped_column(String(16))
    codec: Mapped[str] = mapped_column(String(16))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    duration_s: Mapped[float] = mapped_column(Float)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    checksum_sha256: Mapped[str] = mapped_column(String(64))
    vote_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # The processing lease (migration 0003): which job holds the video, from which message, until when.
    lease_holder: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    lease_message_id: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What comes with the MP4 (migration 0005), null until the video has it (anb_common.keys): the
    # poster, the storyboard's WebVTT file (its sprite beside it) and the HLS playlist.
    poster_key: Mapped[str | None] = mapped_column(Text)
    storyboard_key: Mapped[str | None] = mapped_column(Text)
    hls_key: Mapped[str | None] = mapped_column(Text)
    # Bumped when the owner picks another moment for the poster, which then gets a new key.
    poster_version: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # Where the player's footage lies in the processed MP4, between the cards (migration 0008): the
    # moment the owner picks for the poster counts from its start. Null until processed (and for
    # videos processed before it was stored).
    footage_start_s: Mapped[float | None] = mapped_column(Float)
    footage_s: Mapped[float | None] = mapped_column(Float)


class Vote(Base):
    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("user_id", "video_id"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    video_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = _now()


class PlayerScore(Base):
    """Votes per player, kept current in each vote's transaction so rankings never aggregate votes."""

    __tablename__ = "player_scores"
    __table_args__ = (
        Index("ix_player_scores_votes", text("votes DESC"), "user_id"),
        Index("ix_player_scores_city_votes", "city", text("votes DESC"), "user_id"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # Copied from users.city so that the per-city ranking is one index range scan.
    city: Mapped[str] = mapped_column(String(100))
    votes: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class OutboxMessage(Base):
    """A job message written in the video's transaction; the relay publishes it and marks it sent."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "id", postgresql_where=text("sent_at IS NULL")),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    video_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _now()
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    request_id: Mapped[str | None] = mapped_column(Text)
    """The upload request that wrote it, sent beside the body as a message attribute (migration 0007)."""


class TusUpload(Base):
    """A resumable (tus) upload that is not a video yet (migration 0009; anb_ingest.tus).

    ``upload_offset`` counts durable bytes only: the whole parts in the S3 multipart upload (``parts``,
    their ETags in part order, each ``part_size`` bytes) plus the tail object after them. A PATCH
    holds the lease (``lease_token`` until ``lease_expires_at``) while it writes; every write it makes
    is conditioned on still holding it. ``last_part_etag`` is set once the final part is stored: the
    upload is being completed, validated and recorded (the row goes in the transaction that inserts
    the video).
    """

    __tablename__ = "tus_uploads"
    __table_args__ = (
        CheckConstraint("length > 0", name="length_positive"),
        CheckConstraint("upload_offset >= 0 AND upload_offset <= length", name="offset_within_length"),
        Index("ix_tus_uploads_user_id", "user_id"),
        Index("ix_tus_uploads_expires_at", "expires_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    metadata_header: Mapped[str] = mapped_column("metadata", Text, server_default="")
    length: Mapped[int] = mapped_column(BigInteger)
    upload_offset: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    part_size: Mapped[int] = mapped_column(Integer)
    object_key: Mapped[str | None] = mapped_column(String(255))
    multipart_id: Mapped[str | None] = mapped_column(Text)
    parts: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    last_part_etag: Mapped[str | None] = mapped_column(Text)
    head_checked: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    created_at: Mapped[datetime] = _now()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_token: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    lease_holder: Mapped[str | None] = mapped_column(Text)
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
