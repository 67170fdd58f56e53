"""Jobs: cost (price basis, estimate, actual), provider usage, stored output totals, day.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FLOATS = (
    "cost_unit_usd",
    "cost_estimate_usd",
    "cost_actual_usd",
    "predict_time_seconds",
    "billed_units",
    "output_seconds",
)


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("created_day", sa.String(10), nullable=True))
        batch.add_column(
            sa.Column("cost_basis", sa.String(20), server_default=sa.text("'run'"), nullable=False)
        )
        batch.add_column(
            sa.Column("cost_simulated", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        for name in _FLOATS:
            batch.add_column(sa.Column(name, sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("provider_runs", sa.Integer(), server_default=sa.text("0"), nullable=False)
        )
        batch.add_column(sa.Column("output_images", sa.Integer(), nullable=True))
        batch.create_index("ix_jobs_owner_id_created_day", ["owner_id", "created_day"])
    # the day of jobs made before the column existed (UTC, as the column holds it)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE jobs SET created_day = to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        )
    else:
        op.execute("UPDATE jobs SET created_day = substr(created_at, 1, 10)")


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_owner_id_created_day")
        for name in ("output_images", "provider_runs", *reversed(_FLOATS)):
            batch.drop_column(name)
        batch.drop_column("cost_simulated")
        batch.drop_column("cost_basis")
        batch.drop_column("created_day")
