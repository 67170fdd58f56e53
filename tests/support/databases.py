"""Fresh, isolated databases per test: a SQLite file, or a throwaway PostgreSQL database."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

TEST_DATABASE_URL_ENV = "TEST_DATABASE_URL"


def postgres_server_url() -> str | None:
    """The SQLAlchemy URL of the PostgreSQL server tests may use, from ``TEST_DATABASE_URL``."""
    return os.environ.get(TEST_DATABASE_URL_ENV) or None


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _asyncpg_dsn(url: str) -> str:
    """``postgresql+asyncpg://…`` → ``postgresql://…`` (asyncpg does not know driver suffixes)."""
    scheme, rest = url.split("://", 1)
    return f"{scheme.split('+', 1)[0]}://{rest}"


@asynccontextmanager
async def postgres_database(server_url: str) -> AsyncIterator[str]:
    """Create ``reelhouse_test_<hex>`` on the server, yield its URL (same driver), drop it after."""
    name = f"reelhouse_test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(_asyncpg_dsn(server_url), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield _with_database(server_url, name)
    finally:
        admin = await asyncpg.connect(_asyncpg_dsn(server_url), timeout=10)
        try:
            # FORCE ends connections a test left open (PostgreSQL 13+)
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
