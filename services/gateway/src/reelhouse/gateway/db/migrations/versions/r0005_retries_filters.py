"""Jobs: retry links both ways, the failure code as a column, indexes for list filters.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("error_code", sa.String(64), nullable=True))
        batch.add_column(sa.Column("retry_of", sa.String(40), nullable=True))
        batch.add_column(sa.Column("retried_by", sa.String(40), nullable=True))
        # one retry per job: a second retry of the same job cannot be written
        batch.create_index("ix_jobs_retry_of", ["retry_of"], unique=True)
        batch.create_index(
            "ix_jobs_owner_id_status_created_at", ["owner_id", "status", "created_at"]
        )
        batch.create_index("ix_jobs_status_created_at", ["status", "created_at"])
        batch.create_index("ix_jobs_error_code", ["error_code"])
    # the code of jobs that failed before the column existed
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE jobs SET error_code = error->>'code' WHERE error IS NOT NULL")
    else:
        op.execute(
            "UPDATE jobs SET error_code = json_extract(error, '$.code') WHERE error IS NOT NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_error_code")
        batch.drop_index("ix_jobs_status_created_at")
        batch.drop_index("ix_jobs_owner_id_status_created_at")
        batch.drop_index("ix_jobs_retry_of")
        batch.drop_column("retried_by")
        batch.drop_column("retry_of")
        batch.drop_column("error_code")
