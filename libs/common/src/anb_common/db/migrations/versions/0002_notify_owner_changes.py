"""notify listeners when a player's own video listing changes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 21:00:00

The gateway keeps each player's listing in memory and drops it when this channel names the player
(anb_common.db.models.OWNER_CHANGES_CHANNEL; the literal is repeated here so that this revision keeps
its meaning if the constant is ever renamed). Only the columns the listing shows fire an update
notice: the transcoder's progress writes every 2 s and vote counts must not flush the cache.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION notify_video_owner_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                PERFORM pg_notify('video_owner_changes', OLD.user_id::text);
                RETURN OLD;
            END IF;
            PERFORM pg_notify('video_owner_changes', NEW.user_id::text);
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER videos_notify_owner_added_or_removed AFTER INSERT OR DELETE ON videos"
        " FOR EACH ROW EXECUTE FUNCTION notify_video_owner_change()"
    )
    op.execute(
        "CREATE TRIGGER videos_notify_owner_listing_changed AFTER UPDATE ON videos FOR EACH ROW"
        " WHEN ((OLD.title, OLD.status, OLD.uploaded_at, OLD.processed_at, OLD.processed_key)"
        " IS DISTINCT FROM (NEW.title, NEW.status, NEW.uploaded_at, NEW.processed_at, NEW.processed_key))"
        " EXECUTE FUNCTION notify_video_owner_change()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER videos_notify_owner_listing_changed ON videos")
    op.execute("DROP TRIGGER videos_notify_owner_added_or_removed ON videos")
    op.execute("DROP FUNCTION notify_video_owner_change()")
