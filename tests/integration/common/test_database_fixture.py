"""The database_url fixture: an empty, writable database per test."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


async def test_database_url_is_empty_and_writable(database_url: str) -> None:
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE probe (id INTEGER PRIMARY KEY, name TEXT)"))
            await conn.execute(text("INSERT INTO probe (id, name) VALUES (1, 'one')"))
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT name FROM probe"))).scalar_one() == "one"
    finally:
        await engine.dispose()


def test_database_url_works_for_sync_tests(database_url: str) -> None:
    assert database_url.startswith(("sqlite+aiosqlite://", "postgresql"))
