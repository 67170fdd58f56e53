"""``/v1/events`` on PostgreSQL when event ids commit out of order (two projectors at once).

Transaction A takes an event id, B takes the next one and commits first. A reader that
had passed B and asked for "ids above B" would never see A. The owner stream holds B back
while A is in flight, then delivers A and B, in id order, each once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.common.events import GenerationProgressed, utcnow
from reelhouse.gateway.db.engine import create_engine, create_sessionmaker
from reelhouse.gateway.db.migrate import run_migrations
from reelhouse.gateway.db.models import Job
from reelhouse.gateway.jobs.service import event_row, new_job_id
from reelhouse.gateway.live.hub import LiveHub
from reelhouse.gateway.live.streams import owner_stream
from reelhouse.gateway.settings import SseSettings
from tests.integration.gateway.harness import eventually
from tests.support.databases import postgres_database, postgres_server_url

pytestmark = pytest.mark.postgres


@pytest.fixture
async def sessions() -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    server_url = postgres_server_url()
    if server_url is None:
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite commits ids in order")
    async with postgres_database(server_url) as url:
        engine = create_engine(url)
        try:
            await run_migrations(engine)
            yield create_sessionmaker(engine)
        finally:
            await engine.dispose()


def _job(owner_id: str) -> Job:
    now = utcnow()
    return Job(
        id=new_job_id(),
        owner_id=owner_id,
        model="sandbox/text-to-video",
        provider="sandbox",
        provider_model="sandbox",
        input={},
        status="running",
        deadline_seconds=900,
        created_at=now,
        updated_at=now,
        attempts=[],
    )


def _progress(job_id: str, n: int) -> GenerationProgressed:
    return GenerationProgressed(
        event_id=f"{job_id}:progress:{n}", job_id=job_id, provider_status="processing", running=True
    )


async def test_an_id_committed_after_higher_ones_is_neither_skipped_nor_repeated(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, second, bobs = _job("alice"), _job("alice"), _job("bob")
    async with sessions.begin() as session:
        session.add_all([first, second, bobs])

    hub = LiveHub(max_streams_per_owner=5)
    listener = hub.open(owner_id="alice", job_id=None)
    settings = SseSettings(poll_seconds=0.05, keepalive_seconds=60, gap_grace_seconds=60)
    received: list[bytes] = []

    async def consume() -> None:
        async for chunk in owner_stream(
            sessions=sessions, listener=listener, settings=settings, owner_id="alice", after=None
        ):
            received.append(chunk)

    reader = asyncio.create_task(consume())
    await eventually(lambda: _some(received), what="the retry hint")  # the stream has started

    slow = sessions()
    try:
        await slow.begin()
        slow.add(event_row(_progress(first.id, 1), status=None, applied=False))
        await slow.flush()  # takes the lower id, commits later
        async with sessions.begin() as fast:
            fast.add(event_row(_progress(bobs.id, 1), status=None, applied=False))
        async with sessions.begin() as fast:
            fast.add(event_row(_progress(second.id, 1), status=None, applied=False))
        # a few polls pass: the higher id is held back while the lower one is in flight
        await asyncio.sleep(0.5)
        assert not [c for c in received if c.startswith(b"id:")]
        await slow.commit()
    finally:
        await slow.close()

    async def both() -> list[bytes] | None:
        events = [c for c in received if c.startswith(b"id:")]
        return events if len(events) >= 2 else None

    events = await eventually(both, what="both events")
    hub.close()
    await asyncio.wait_for(reader, timeout=10)
    assert [e.split(b"\n")[0] for e in events] == [
        f"id: {first.id}:progress:1".encode(),
        f"id: {second.id}:progress:1".encode(),
    ]
    # another owner's event never shows, though its id sits between the two
    assert len([c for c in received if c.startswith(b"id:")]) == 2


async def _some(received: list[bytes]) -> bool | None:
    return True if received else None
