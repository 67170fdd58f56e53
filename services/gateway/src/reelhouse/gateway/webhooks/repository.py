"""SQL for webhook deliveries and their attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.gateway.db.models import WebhookAttempt, WebhookDelivery

DeliveryStatus = Literal["pending", "delivered", "failed"]
PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


async def claim_due(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int
) -> list[str]:
    """Lease up to ``limit`` due deliveries to the caller; ids of those it won.

    Candidates are read with ``FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite ignores it and
    serialises writers), and each is taken by a conditional update on ``locked_until``, so
    two gateway processes never hold the same delivery.
    """
    free = or_(WebhookDelivery.locked_until.is_(None), WebhookDelivery.locked_until < now)
    candidates = await session.scalars(
        select(WebhookDelivery.id)
        .where(
            WebhookDelivery.status == PENDING,
            WebhookDelivery.next_attempt_at <= now,
            free,
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    won: list[str] = []
    for delivery_id in list(candidates):
        result = await session.execute(
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, free)
            .values(locked_until=lease_until)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]  # CursorResult of an UPDATE
            won.append(delivery_id)
    return won


async def get(session: AsyncSession, delivery_id: str) -> WebhookDelivery | None:
    return await session.get(WebhookDelivery, delivery_id)


async def get_for_update(session: AsyncSession, delivery_id: str) -> WebhookDelivery | None:
    return await session.scalar(
        select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update()
    )


def add_attempt(session: AsyncSession, attempt: WebhookAttempt) -> None:
    session.add(attempt)


async def _list_where(session: AsyncSession, *where: ColumnElement[bool]) -> list[WebhookDelivery]:
    rows = await session.scalars(
        select(WebhookDelivery)
        .where(*where)
        .order_by(WebhookDelivery.created_at, WebhookDelivery.id)
    )
    return list(rows)


async def list_for_job(session: AsyncSession, job_id: str) -> list[WebhookDelivery]:
    return await _list_where(session, WebhookDelivery.job_id == job_id)


async def list_for_composition(session: AsyncSession, composition_id: str) -> list[WebhookDelivery]:
    return await _list_where(session, WebhookDelivery.composition_id == composition_id)


async def attempts_of(
    session: AsyncSession, delivery_ids: Sequence[str]
) -> dict[str, list[WebhookAttempt]]:
    found: dict[str, list[WebhookAttempt]] = {delivery_id: [] for delivery_id in delivery_ids}
    if not delivery_ids:
        return found
    rows = await session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.id)
    )
    for attempt in rows:
        found[attempt.delivery_id].append(attempt)
    return found
