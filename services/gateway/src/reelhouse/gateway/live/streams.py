"""The two live streams as async iterators of SSE bytes: one job's, and an owner's.

Each step reads the database (a short session: no connection is held while waiting),
sends what is new, then waits — for a NATS notice, at most ``poll_seconds``, and never
past the keep-alive. Every wait is bounded, and a closing hub ends the stream.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.common.jobstate import is_final
from reelhouse.gateway.jobs.views import public_event_data
from reelhouse.gateway.live import reader
from reelhouse.gateway.live.hub import Listener
from reelhouse.gateway.live.reader import LiveEvent
from reelhouse.gateway.live.sse import KEEP_ALIVE, UnsafeFieldError, encode_event, encode_retry
from reelhouse.gateway.live.watermark import Watermark
from reelhouse.gateway.settings import SseSettings

log = structlog.get_logger(__name__)

# how soon a stream held back at a gap looks again (a gap is usually a commit in flight)
GAP_RECHECK_SECONDS = 0.25


def event_data(event: LiveEvent) -> dict[str, Any]:
    """``data:`` of one SSE event: the job, its status after the event, the event's fields."""
    row = event.row
    return {
        **public_event_data(row.subject, row.payload),
        "job_id": row.job_id,
        "status": event.job_status.value,
        "moved_to": row.status,
        "type": row.type,
        "occurred_at": row.occurred_at.isoformat(),
        "recorded_at": row.recorded_at.isoformat(),
    }


def encode_live_event(event: LiveEvent) -> bytes | None:
    try:
        return encode_event(
            event_id=event.row.event_id, event=event.row.type, data=event_data(event)
        )
    except UnsafeFieldError as exc:
        log.error("sse.event_unframeable", job_id=event.row.job_id, error=str(exc))
        return None


class Pacer:
    """When to send a keep-alive and how long the next wait may last."""

    def __init__(self, settings: SseSettings) -> None:
        self._settings = settings
        self._sent_at = time.monotonic()

    def sent(self) -> None:
        self._sent_at = time.monotonic()

    def keep_alive_due(self) -> bool:
        return time.monotonic() - self._sent_at >= self._settings.keepalive_seconds

    def wait_seconds(self, *, hurry: bool = False) -> float:
        left = self._settings.keepalive_seconds - (time.monotonic() - self._sent_at)
        cap = GAP_RECHECK_SECONDS if hurry else self._settings.poll_seconds
        return max(0.0, min(cap, left))


async def job_stream(
    *,
    sessions: async_sessionmaker[AsyncSession],
    listener: Listener,
    settings: SseSettings,
    job_id: str,
    after: int,
) -> AsyncIterator[bytes]:
    """The job's events after serial id ``after``, then new ones; ends after a final state."""
    pacer = Pacer(settings)
    try:
        yield encode_retry(settings.retry_ms)
        while not listener.closing:
            batch: list[LiveEvent] = []
            try:
                async with sessions() as session:
                    batch = await reader.job_events_after(
                        session, job_id=job_id, after=after, limit=settings.batch_size
                    )
            except (SQLAlchemyError, OSError) as exc:
                log.warning("sse.read_failed", job_id=job_id, error=repr(exc))
            for event in batch:
                chunk = encode_live_event(event)
                if chunk is not None:
                    yield chunk
                    pacer.sent()
                after = event.row.id
                if is_final(event.job_status):
                    log.info("sse.job_stream_done", job_id=job_id, status=event.job_status.value)
                    return
            if len(batch) == settings.batch_size:
                continue
            if pacer.keep_alive_due():
                yield KEEP_ALIVE
                pacer.sent()
            await listener.wait(pacer.wait_seconds())
    finally:
        listener.close()


async def owner_stream(
    *,
    sessions: async_sessionmaker[AsyncSession],
    listener: Listener,
    settings: SseSettings,
    owner_id: str,
    after: int | None,
) -> AsyncIterator[bytes]:
    """Every event of the owner's jobs after serial id ``after`` (None: from now), in order."""
    pacer = Pacer(settings)
    try:
        yield encode_retry(settings.retry_ms)
        if after is None:
            async with sessions() as session:
                after = await reader.newest_pk(session)
        watermark = Watermark(after, grace_seconds=settings.gap_grace_seconds)
        while not listener.closing:
            events: list[LiveEvent] = []
            full = False
            before = watermark.position
            try:
                async with sessions() as session:
                    committed = await reader.committed_after(
                        session,
                        owner_id=owner_id,
                        after=watermark.position,
                        limit=settings.batch_size,
                    )
                    passed = watermark.advance(committed)
                    full = len(committed) == settings.batch_size and bool(passed)
                    events = await reader.events_by_pk(session, [c.pk for c in passed if c.mine])
            except (SQLAlchemyError, OSError) as exc:
                watermark.position = before  # read again what was not sent
                log.warning("sse.read_failed", owner_id=owner_id, error=repr(exc))
            for event in events:
                chunk = encode_live_event(event)
                if chunk is not None:
                    yield chunk
                    pacer.sent()
            if full:
                continue
            if pacer.keep_alive_due():
                yield KEEP_ALIVE
                pacer.sent()
            await listener.wait(pacer.wait_seconds(hurry=watermark.holding))
    finally:
        listener.close()
