"""Uploads: audio (M4A, MP3, WAV) has no frame size, so ``width`` and ``height`` may be null.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("uploads") as batch:
        batch.alter_column("width", existing_type=sa.Integer(), nullable=True)
        batch.alter_column("height", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # the older schema has no place for audio: its rows go (their objects stay in storage
    # under uploads/, as any object whose row was removed by hand)
    op.execute("DELETE FROM uploads WHERE width IS NULL OR height IS NULL")
    with op.batch_alter_table("uploads") as batch:
        batch.alter_column("width", existing_type=sa.Integer(), nullable=False)
        batch.alter_column("height", existing_type=sa.Integer(), nullable=False)
