"""resumable uploads (tus) in progress, with the lease a PATCH holds

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 18:30:00

One row per tus upload that has not become a video yet (anb_ingest.tus): who creates it, how long
it is, how many bytes are durable (``upload_offset``: whole parts in the S3 multipart upload plus
the tail object after them), the multipart upload and its parts' ETags, and when it expires. A
PATCH holds the row's lease (``lease_token`` until ``lease_expires_at``, renewed while it streams)
so that a second concurrent PATCH is refused, without a transaction held open; a crashed holder's
lease lapses. The row goes in the transaction that inserts the video, or when the upload is
terminated, refused or swept after expiry.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tus_uploads",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("user_id", sa.UUID(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("metadata", sa.Text(), nullable=False, server_default=""),
        sa.Column("length", sa.BigInteger(), nullable=False),
        sa.Column("upload_offset", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("part_size", sa.Integer(), nullable=False),
        sa.Column("object_key", sa.String(length=255), nullable=True),
        sa.Column("multipart_id", sa.Text(), nullable=True),
        sa.Column("parts", postgresql.ARRAY(sa.Text()), nullable=False, server_default="{}"),
        sa.Column("last_part_etag", sa.Text(), nullable=True),
        sa.Column("head_checked", sa.Boolean(), nullable=False, server_default=sa.text("false")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_token", sa.UUID(), nullable=True),
        sa.Column("lease_holder", sa.Text(), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("length > 0", name=op.f("ck_tus_uploads_length_positive")),
        sa.CheckConstraint(
            "upload_offset >= 0 AND upload_offset <= length", name=op.f("ck_tus_uploads_offset_within_length")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_tus_uploads_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tus_uploads")),
    )
    # The per-player count of uploads in progress, and the sweeper's scan for expired ones.
    op.create_index("ix_tus_uploads_user_id", "tus_uploads", ["user_id"])
    op.create_index("ix_tus_uploads_expires_at", "tus_uploads", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_tus_uploads_expires_at", table_name="tus_uploads")
    op.drop_index("ix_tus_uploads_user_id", table_name="tus_uploads")
    op.drop_table("tus_uploads")
