"""Compositions: the ``compositions`` table, and each job's composition and part.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "compositions",
        sa.Column("id", sa.String(40), nullable=False),
        sa.Column("owner_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("policy", sa.String(16), nullable=False),
        sa.Column("scene_count", sa.Integer(), nullable=False),
        sa.Column("spec", _JSON, nullable=False),
        sa.Column("assembly", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("missing", _JSON, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("error", _JSON, nullable=True),
        sa.Column("error_code", sa.String(64), nullable=True),
        sa.Column("outputs", _JSON, server_default=sa.text("'[]'"), nullable=False),
        sa.Column("assembly_method", sa.String(16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancel_requested_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("webhook_url", sa.String(2000), nullable=True),
        sa.Column("webhook_events", _JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_compositions"),
    )
    op.create_index(
        "ix_compositions_owner_id_created_at_id",
        "compositions",
        ["owner_id", "created_at", "id"],
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("composition_id", sa.String(40), nullable=True))
        batch.add_column(sa.Column("composition_part", sa.Integer(), nullable=True))
        batch.create_index("ix_jobs_composition_id", ["composition_id"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_composition_id")
        batch.drop_column("composition_part")
        batch.drop_column("composition_id")
    op.drop_index("ix_compositions_owner_id_created_at_id", table_name="compositions")
    op.drop_table("compositions")
