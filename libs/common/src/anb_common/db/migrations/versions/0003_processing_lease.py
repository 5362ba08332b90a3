"""a lease on a video while a worker processes it

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 21:45:00

Two deliveries of one job can reach two workers at the same time (SQS delivers at least once; the
outbox may publish a job twice when it crashes between sending and recording the send). The worker
that claims the video holds it until ``lease_expires_at`` (renewed with its visibility heartbeat);
the other sees the lease and does not transcode.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("videos", sa.Column("lease_holder", sa.UUID(), nullable=True))
    op.add_column("videos", sa.Column("lease_message_id", sa.String(length=128), nullable=True))
    op.add_column("videos", sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("videos", "lease_expires_at")
    op.drop_column("videos", "lease_message_id")
    op.drop_column("videos", "lease_holder")
