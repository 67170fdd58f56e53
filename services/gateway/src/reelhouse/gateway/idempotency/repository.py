"""SQL for ``Idempotency-Key`` claims. Every statement is scoped to one owner's key or row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.gateway.db.models import IdempotencyKey


def _changed(result: object) -> bool:
    assert isinstance(result, CursorResult)
    return bool(result.rowcount == 1)


async def insert(session: AsyncSession, row: IdempotencyKey) -> int:
    """Add the claim and flush; ``IntegrityError`` when the owner's key is taken."""
    session.add(row)
    await session.flush()
    return row.id


async def get(session: AsyncSession, *, owner_id: str, key: str) -> IdempotencyKey | None:
    result = await session.execute(
        select(IdempotencyKey).where(IdempotencyKey.owner_id == owner_id, IdempotencyKey.key == key)
    )
    return result.scalar_one_or_none()


async def delete_expired(session: AsyncSession, *, now: datetime, limit: int) -> int:
    """Delete at most ``limit`` expired claims (of any owner): bounded work per call."""
    expired = (
        select(IdempotencyKey.id)
        .where(IdempotencyKey.expires_at <= now)
        .order_by(IdempotencyKey.expires_at)
        .limit(limit)
        .scalar_subquery()
    )
    result = await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id.in_(expired)))
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


async def delete_if_expired(session: AsyncSession, row_id: int, *, now: datetime) -> None:
    await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.id == row_id, IdempotencyKey.expires_at <= now)
    )


async def take_over(
    session: AsyncSession, row_id: int, *, old_token: str, new_token: str, locked_until: datetime
) -> bool:
    """Compare-and-set the holder of an in-flight claim whose lease ran out."""
    result = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.id == row_id,
            IdempotencyKey.token == old_token,
            IdempotencyKey.job_id.is_(None),
        )
        .values(token=new_token, locked_until=locked_until)
    )
    return _changed(result)


async def complete(
    session: AsyncSession, row_id: int, *, token: str, job_id: str, status_code: int, now: datetime
) -> bool:
    """Record the job on a claim this request still holds (False: it lost the claim)."""
    result = await session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.id == row_id,
            IdempotencyKey.token == token,
            IdempotencyKey.job_id.is_(None),
        )
        .values(job_id=job_id, response_status=status_code, locked_until=now)
    )
    return _changed(result)


async def release(session: AsyncSession, row_id: int, *, token: str) -> None:
    """Forget an in-flight claim this request holds (it failed): the key is free again."""
    await session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.id == row_id,
            IdempotencyKey.token == token,
            IdempotencyKey.job_id.is_(None),
        )
    )
