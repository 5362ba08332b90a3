"""the upload request's id on each outbox row

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 12:00:00

A job carries the id of the upload request that made it as an SQS message attribute (its body's
schema stays as it is), so the transcoder's lines for the job name the request. The upload path
publishes with the id it is serving; a job the relay publishes later finds it here. Null for rows
written before, and for jobs without a request.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("outbox", sa.Column("request_id", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("outbox", "request_id")
