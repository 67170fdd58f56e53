"""Fresh, isolated databases per test: a SQLite file, or a throwaway PostgreSQL database."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

TEST_DATABASE_URL_ENV = "TEST_DATABASE_URL"

T = TypeVar("T")


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


async def create_postgres_database(server_url: str) -> str:
    """Create ``reelhouse_test_<hex>`` on the server; its URL (same driver)."""
    name = f"reelhouse_test_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(_asyncpg_dsn(server_url), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return _with_database(server_url, name)


async def drop_postgres_database(server_url: str, url: str) -> None:
    """Drop the database at ``url`` (made by ``create_postgres_database`` on ``server_url``)."""
    name = urlsplit(url).path.lstrip("/")
    admin = await asyncpg.connect(_asyncpg_dsn(server_url), timeout=10)
    try:
        # FORCE ends connections a test left open (PostgreSQL 13+)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@asynccontextmanager
async def postgres_database(server_url: str) -> AsyncIterator[str]:
    """Create ``reelhouse_test_<hex>`` on the server, yield its URL (same driver), drop it after."""
    url = await create_postgres_database(server_url)
    try:
        yield url
    finally:
        await drop_postgres_database(server_url, url)


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run ``coroutine`` to the end on a loop of its own thread (never the tests' loop)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@contextmanager
def process_database(directory: Path) -> Iterator[str]:
    """The one database for tests of several processes (gateways, CLI) sharing it.

    PostgreSQL with ``TEST_DATABASE_URL`` (the backend several processes share in production:
    SKIP LOCKED leases, one rate-limit count), else a SQLite file in ``directory``. Such tests
    run on this one backend; in-process tests cover the queries on both. Synchronous, so that
    module-scoped fixtures can use it too.
    """
    server_url = postgres_server_url()
    if server_url is None:
        yield f"sqlite+aiosqlite:///{directory / 'processes.db'}"
        return
    url = _run(create_postgres_database(server_url))
    try:
        yield url
    finally:
        _run(drop_postgres_database(server_url, url))
