"""The database engine: async SQLAlchemy on SQLite (embedded) or PostgreSQL (production)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, ExceptionContext, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import AsyncAdaptedQueuePool

SQLITE_BUSY_TIMEOUT_SECONDS = 30
# asyncpg's words for a connection left mid-operation by a server that ended it ("cannot switch
# to state 15; another operation (2) is in progress")
BROKEN_CONNECTION = "cannot switch to state"
# a PostgreSQL connection is closed and replaced after this long (idle-killing middleboxes)
POOL_RECYCLE_SECONDS = 1800


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _sqlite_path(url: URL) -> Path | None:
    database = url.database or ""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def create_engine(database_url: str, *, pool_size: int = 5) -> AsyncEngine:
    """An engine for ``database_url``; SQLite gets WAL, a busy timeout and ``BEGIN IMMEDIATE``.

    PostgreSQL keeps ``pool_size`` connections open and opens up to half as many again under a
    burst. A request holds its connection while it runs: with fewer in the pool than requests in
    flight, each extra one was opened and closed per request (bench-submit at 32 connections,
    the default pool of 5: a TLS attempt and a login per submit).

    Each connection is pinged as it leaves the pool (a round trip): a connection the server
    ended (a restart, an idle-session killer) is replaced there, never handed to a request —
    without the ping, asyncpg can report such a connection as busy with "another operation"
    rather than closed, and the request that met it failed with an internal error.
    """
    url = make_url(database_url)
    if not is_sqlite(url):
        engine = create_async_engine(
            url,
            pool_pre_ping=True,
            pool_size=pool_size,
            max_overflow=max(1, pool_size // 2),
            pool_recycle=POOL_RECYCLE_SECONDS,
        )
        event.listen(engine.sync_engine, "handle_error", _broken_connection_is_a_disconnect)
        return engine
    path = _sqlite_path(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    # one connection: SQLite has one writer, and every transaction here takes the write lock
    # up front (BEGIN IMMEDIATE); waiting for the pool is a FIFO queue with asyncio wake-ups,
    # waiting on the lock is SQLite's busy handler, which sleeps up to 100 ms between polls
    # and lets newcomers overtake (bench-submit at 8 connections: p99 1.7 s with 5 connections)
    engine = create_async_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
        poolclass=AsyncAdaptedQueuePool,
        pool_size=1,
        max_overflow=0,
        pool_timeout=SQLITE_BUSY_TIMEOUT_SECONDS,
    )
    _take_over_sqlite_transactions(engine, wal=path is not None)
    return engine


def _broken_connection_is_a_disconnect(context: ExceptionContext) -> None:
    """asyncpg reports a connection whose operation the server cut short (a restart, an ended
    backend) as busy with "another operation" on its next use, not as closed: treat it as a
    lost connection, so SQLAlchemy discards it and the pool's older connections."""
    if BROKEN_CONNECTION in str(context.original_exception):
        context.is_disconnect = True


def _take_over_sqlite_transactions(engine: AsyncEngine, *, wal: bool) -> None:
    """Emit ``BEGIN IMMEDIATE`` ourselves so a transaction that reads, then writes, never
    fails with "database is locked" half-way: it waits for the write lock up front."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")
            if wal:
                cursor.execute("PRAGMA journal_mode=WAL")
        finally:
            cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
