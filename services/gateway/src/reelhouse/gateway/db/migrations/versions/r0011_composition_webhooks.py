"""Webhook deliveries of compositions: ``composition_id``, and ``job_id`` may be empty.

A delivery belongs to a job or to a composition. Its key for compositions is
(``composition_id``, ``event_id``, ``type``): a redelivered message records nothing twice.

On SQLite, making ``job_id`` nullable copies the table (batch mode). The copy drops the old
table, and with ``PRAGMA foreign_keys=ON`` (which cannot be turned off inside the migration's
transaction) that drop deletes every ``webhook_attempts`` row through its ``ON DELETE
CASCADE``: the attempts are kept aside and put back.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _keep_attempts() -> bool:
    if op.get_bind().dialect.name != "sqlite":
        return False
    op.execute("CREATE TEMP TABLE _kept_webhook_attempts AS SELECT * FROM webhook_attempts")
    return True


def _restore_attempts() -> None:
    op.execute(
        "INSERT INTO webhook_attempts (id, delivery_id, attempted_at, succeeded, status_code, "
        "error) SELECT id, delivery_id, attempted_at, succeeded, status_code, error "
        "FROM _kept_webhook_attempts WHERE id NOT IN (SELECT id FROM webhook_attempts) "
        "AND delivery_id IN (SELECT id FROM webhook_deliveries)"
    )
    op.execute("DROP TABLE _kept_webhook_attempts")


def upgrade() -> None:
    kept = _keep_attempts()
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.alter_column("job_id", existing_type=sa.String(40), nullable=True)
        batch.add_column(sa.Column("composition_id", sa.String(40), nullable=True))
        batch.create_foreign_key(
            "fk_webhook_deliveries_composition_id_compositions",
            "compositions",
            ["composition_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_unique_constraint(
            "uq_webhook_deliveries_composition_id_event_id_type",
            ["composition_id", "event_id", "type"],
        )
    if kept:
        _restore_attempts()


def downgrade() -> None:
    op.execute("DELETE FROM webhook_deliveries WHERE job_id IS NULL")
    kept = _keep_attempts()
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_constraint("uq_webhook_deliveries_composition_id_event_id_type", type_="unique")
        batch.drop_constraint(
            "fk_webhook_deliveries_composition_id_compositions", type_="foreignkey"
        )
        batch.drop_column("composition_id")
        batch.alter_column("job_id", existing_type=sa.String(40), nullable=False)
    if kept:
        _restore_attempts()
