"""SQL for the transactional outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import Event
from reelhouse.common.tracing import current_trace_headers
from reelhouse.gateway.db.models import Job, OutboxMessage

SOURCE = "gateway"
OUTBOX = cast(Table, OutboxMessage.__table__)
# JetStream de-duplicates on it (``Event.ce_headers``)
DEDUP_HEADER = "Nats-Msg-Id"
MAX_ERROR_LENGTH = 2000


def row_values(event: Event, *, now: datetime, held_for: str | None = None) -> dict[str, Any]:
    """An outbox row's column values: ``event`` to publish, committed with its change."""
    return {
        "event_id": event.event_id,
        "job_id": event.job_id,
        "subject": event.subject,
        # the active trace's ``traceparent``: the relay publishes inside that trace later,
        # from another task, so the consumers' spans join the request's trace
        "headers": {**event.ce_headers(SOURCE), **current_trace_headers()},
        "payload": event.model_dump_json(),
        "created_at": now,
        "published_at": None,
        "attempts": 0,
        "last_error": None,
        "held_for": held_for,
    }


def add(
    session: AsyncSession, event: Event, *, now: datetime, held_for: str | None = None
) -> OutboxMessage:
    """Queue ``event`` for publishing; commit it together with the change it announces."""
    message = OutboxMessage(**row_values(event, now=now, held_for=held_for))
    session.add(message)
    return message


async def claim_pending(
    session: AsyncSession, *, limit: int
) -> tuple[list[OutboxMessage], dict[str, str]]:
    """The oldest unpublished messages, locked so other replicas skip them (PostgreSQL), and
    their jobs' owners by job id (one query: the relay tells every gateway's live streams)."""
    result = await session.execute(
        select(OutboxMessage, Job.owner_id)
        .outerjoin(Job, Job.id == OutboxMessage.job_id)
        .where(OutboxMessage.published_at.is_(None), OutboxMessage.held_for.is_(None))
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=OutboxMessage)
    )
    rows = result.all()
    owners = {message.job_id: owner for message, owner in rows if owner is not None}
    return [message for message, _ in rows], owners


async def mark_published(
    session: AsyncSession, messages: list[OutboxMessage], *, now: datetime
) -> None:
    """One ``UPDATE`` for a batch that was published (the objects are not refreshed)."""
    if not messages:
        return
    await session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id.in_([m.id for m in messages]))
        .values(published_at=now, attempts=OUTBOX.c.attempts + 1, last_error=None)
    )


def event_headers(stored: dict[str, str]) -> dict[str, str]:
    """A row's stored headers without its trace context: the relay's span supplies that."""
    return {k: v for k, v in stored.items() if k == DEDUP_HEADER or k.startswith("ce-")}


async def record_failure(session: AsyncSession, message: OutboxMessage, error: str) -> None:
    """Count a failed attempt at publishing ``message`` and keep its error."""
    await session.execute(
        update(OUTBOX)
        .where(OUTBOX.c.id == message.id)
        .values(attempts=OUTBOX.c.attempts + 1, last_error=error[:MAX_ERROR_LENGTH])
    )


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
