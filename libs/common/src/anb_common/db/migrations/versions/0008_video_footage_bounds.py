"""where the player's footage lies in a processed video

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 14:00:00

The owner picks the poster's moment in seconds from the start of their footage
(``POST /api/videos/{id}/poster``), which sits between the intro and outro cards of the processed
MP4. The transcoder knows both lengths when it marks the video processed and stores them here, in
the same update: the footage starts ``footage_start_s`` into the MP4 and lasts ``footage_s``.
Null for videos processed before (the poster pick refuses them until they have them).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("videos", sa.Column("footage_start_s", sa.Float(), nullable=True))
    op.add_column("videos", sa.Column("footage_s", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("videos", "footage_s")
    op.drop_column("videos", "footage_start_s")
