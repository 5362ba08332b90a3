"""a processed video's poster, storyboard and HLS rendition

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00

The transcoder makes them with the MP4 (issue 17) and stores their keys in the update that marks the
video processed; videos processed before stay null until the backfill reads their MP4. The poster's
version is bumped when the owner picks another moment, so the new picture gets a new key.

The owner's listing shows these links, so a change of them must drop the gateway's cached listing as
a change of the MP4 does: the update trigger of revision 0002 names them too.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LISTED = "title, status, uploaded_at, processed_at, processed_key"
_DERIVATIVES = "poster_key, storyboard_key, hls_key"


def _listing_trigger(columns: str) -> str:
    old = ", ".join(f"OLD.{column.strip()}" for column in columns.split(","))
    new = ", ".join(f"NEW.{column.strip()}" for column in columns.split(","))
    return (
        "CREATE TRIGGER videos_notify_owner_listing_changed AFTER UPDATE ON videos FOR EACH ROW"
        f" WHEN (({old}) IS DISTINCT FROM ({new}))"
        " EXECUTE FUNCTION notify_video_owner_change()"
    )


def upgrade() -> None:
    op.add_column("videos", sa.Column("poster_key", sa.Text(), nullable=True))
    op.add_column("videos", sa.Column("storyboard_key", sa.Text(), nullable=True))
    op.add_column("videos", sa.Column("hls_key", sa.Text(), nullable=True))
    op.add_column(
        "videos", sa.Column("poster_version", sa.Integer(), nullable=False, server_default=sa.text("0"))
    )
    op.execute("DROP TRIGGER videos_notify_owner_listing_changed ON videos")
    op.execute(_listing_trigger(f"{_LISTED}, {_DERIVATIVES}"))


def downgrade() -> None:
    op.execute("DROP TRIGGER videos_notify_owner_listing_changed ON videos")
    op.execute(_listing_trigger(_LISTED))
    op.drop_column("videos", "poster_version")
    op.drop_column("videos", "hls_key")
    op.drop_column("videos", "storyboard_key")
    op.drop_column("videos", "poster_key")
