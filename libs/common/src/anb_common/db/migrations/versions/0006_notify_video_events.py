"""notify listeners when a video's processing state changes, for its owner's live events

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:00:00

``GET /api/videos/events`` pushes a player's videos' status, progress, error and processing time as
they change. Each gateway process hears this channel (anb_common.db.models.VIDEO_EVENTS_CHANNEL; the
literal is repeated here so that this revision keeps its meaning if the constant is renamed) on the
connection its listing cache already keeps, and reads the video's row itself: the payload only names
the owner and the video (``{"user_id", "video_id"}``, about 100 bytes), so it can never outgrow
NOTIFY's 8000 bytes and fail the transcoder's write, whatever a failure reason holds.

Unlike 0002's channel, a change of progress notifies too (the transcoder writes it every 2 s while a
video is processed; an unchanged figure is filtered out by the WHEN clause), and votes never do. A
new video notifies as ``uploaded``; a deleted one does not (it has no state left to show).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATE = ("status", "progress", "failure_reason", "processed_at")


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION notify_video_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify(
                'video_events', json_build_object('user_id', NEW.user_id, 'video_id', NEW.id)::text
            );
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER videos_notify_event_added AFTER INSERT ON videos"
        " FOR EACH ROW EXECUTE FUNCTION notify_video_event()"
    )
    old = ", ".join(f"OLD.{column}" for column in _STATE)
    new = ", ".join(f"NEW.{column}" for column in _STATE)
    op.execute(
        f"CREATE TRIGGER videos_notify_event_changed AFTER UPDATE OF {', '.join(_STATE)} ON videos"
        f" FOR EACH ROW WHEN (({old}) IS DISTINCT FROM ({new})) EXECUTE FUNCTION notify_video_event()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER videos_notify_event_changed ON videos")
    op.execute("DROP TRIGGER videos_notify_event_added ON videos")
    op.execute("DROP FUNCTION notify_video_event()")
