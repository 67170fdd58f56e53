"""Per-owner limits: submit-rate counters, and outbox rows held by a concurrency limit.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "submit_windows",
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", "window_start", name=op.f("pk_submit_windows")),
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("held_for", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_outbox_held_for"), ["held_for"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index(batch.f("ix_outbox_held_for"))
        batch.drop_column("held_for")
    op.drop_table("submit_windows")
