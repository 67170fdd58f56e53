"""SQL for the transactional outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import Event
from reelhouse.common.tracing import current_trace_headers
from reelhouse.gateway.db.models import OutboxMessage

SOURCE = "gateway"
MAX_ERROR_LENGTH = 2000


def add(
    session: AsyncSession, event: Event, *, now: datetime, held_for: str | None = None
) -> OutboxMessage:
    """Queue ``event`` for publishing; commit it together with the change it announces.

    The headers keep the active trace's ``traceparent``: the relay publishes inside that
    trace later, from another task, so the consumers' spans join the request's trace.
    """
    message = OutboxMessage(
        event_id=event.event_id,
        job_id=event.job_id,
        subject=event.subject,
        headers={**event.ce_headers(SOURCE), **current_trace_headers()},
        payload=event.model_dump_json(),
        created_at=now,
        published_at=None,
        attempts=0,
        last_error=None,
        held_for=held_for,
    )
    session.add(message)
    return message


async def claim_pending(session: AsyncSession, *, limit: int) -> list[OutboxMessage]:
    """The oldest unpublished messages, locked so other replicas skip them (PostgreSQL)."""
    result = await session.execute(
        select(OutboxMessage)
        .where(OutboxMessage.published_at.is_(None), OutboxMessage.held_for.is_(None))
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(result.scalars())


def mark_published(message: OutboxMessage, *, now: datetime) -> None:
    message.published_at = now
    message.attempts += 1
    message.last_error = None


def record_failure(message: OutboxMessage, error: str) -> None:
    message.attempts += 1
    message.last_error = error[:MAX_ERROR_LENGTH]


async def backlog(session: AsyncSession) -> tuple[int, datetime | None]:
    """How many messages wait to be published, and when the oldest was written."""
    result = await session.execute(
        select(func.count(), func.min(OutboxMessage.created_at)).where(
            OutboxMessage.published_at.is_(None), OutboxMessage.held_for.is_(None)
        )
    )
    pending, oldest = result.one()
    return int(pending), oldest


async def count_pending(session: AsyncSession) -> int:
    result = await session.execute(
        select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
    )
    return int(result.scalar_one())
