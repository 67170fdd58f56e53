"""Alembic migrations, run programmatically at start-up (SQLite and PostgreSQL).

To add a revision after changing ``db/models.py``, autogenerate it against a
database at the current head, then review it (batch mode is used on SQLite)::

    python -c "from alembic import command; from reelhouse.gateway.db.migrate import alembic_config; \\
        command.revision(alembic_config('sqlite+aiosqlite:///head.db'), 'what changed', autogenerate=True)"

and name the file ``rNNNN_<slug>.py``. A test checks that the migrated schema equals the models.
"""

from __future__ import annotations

from pathlib import Path

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

log = structlog.get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# any constant: replicas starting together take turns (PostgreSQL advisory lock)
MIGRATION_LOCK_ID = 0x7265656C  # "reel"


def alembic_config(database_url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url is not None:
        # ConfigParser interpolation: a literal % must be doubled
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def run_migrations(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision, in one transaction."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        await conn.run_sync(_upgrade)
    log.info("db.migrated", dialect=engine.dialect.name)
