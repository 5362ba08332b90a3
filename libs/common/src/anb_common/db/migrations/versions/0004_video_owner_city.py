"""the owner's city on each video, indexed for the public listing by city

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 22:20:00

``GET /api/public/videos?city=`` had no index ordering one city's videos by votes: it walked every
published video and joined its owner to filter, so deep pages were slow (~115 ms at offset 1000 of
100k). The city is copied onto the video when it is inserted (players cannot change their city), so
the page is cut from one index, as the unfiltered listing already is.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("videos", sa.Column("owner_city", sa.String(length=100), nullable=True))
    op.execute("UPDATE videos v SET owner_city = u.city FROM users u WHERE u.id = v.user_id")
    op.alter_column("videos", "owner_city", nullable=False)
    op.execute(
        """
        CREATE FUNCTION set_video_owner_city() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            SELECT city INTO NEW.owner_city FROM users WHERE id = NEW.user_id;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER videos_set_owner_city BEFORE INSERT ON videos"
        " FOR EACH ROW EXECUTE FUNCTION set_video_owner_city()"
    )
    op.create_index(
        "ix_videos_published_city_votes",
        "videos",
        ["owner_city", sa.literal_column("vote_count DESC"), "id"],
        postgresql_where=sa.text("published"),
    )


def downgrade() -> None:
    op.drop_index("ix_videos_published_city_votes", table_name="videos")
    op.execute("DROP TRIGGER videos_set_owner_city ON videos")
    op.execute("DROP FUNCTION set_video_owner_city()")
    op.drop_column("videos", "owner_city")
