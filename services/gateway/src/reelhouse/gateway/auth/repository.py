"""SQL for API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.gateway.db.models import ApiKey
from reelhouse.gateway.jobs.cursor import Cursor

_ACTIVE_BY_HASH = select(
    ApiKey.id, ApiKey.owner_id, ApiKey.scopes, ApiKey.expires_at, ApiKey.last_used_at
).where(ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None))


@dataclass(frozen=True, slots=True)
class ActiveKey:
    """What authenticating a request needs of a key."""

    id: str
    owner_id: str
    scopes: list[str]
    expires_at: datetime | None
    last_used_at: datetime | None


async def get_active_by_hash(session: AsyncSession, key_hash: str) -> ActiveKey | None:
    """The key with this hash unless revoked (expiry is the caller's to judge).

    Five columns as a plain row, not an ``ApiKey`` entity: every request asks this, and
    loading the entity into the session was a sixth of a submit's CPU (bench-submit profile).
    """
    row = (await session.execute(_ACTIVE_BY_HASH, {"key_hash": key_hash})).one_or_none()
    return None if row is None else ActiveKey(*row)


async def get_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    result = await session.execute(select(ApiKey).where(ApiKey.key_hash == key_hash))
    return result.scalar_one_or_none()


async def get_by_id(session: AsyncSession, key_id: str) -> ApiKey | None:
    result = await session.execute(select(ApiKey).where(ApiKey.id == key_id))
    return result.scalar_one_or_none()


async def list_keys(
    session: AsyncSession, *, owner_id: str | None, limit: int, after: Cursor | None
) -> list[ApiKey]:
    """Newest first, of one owner or of all; ``after`` continues below ``(created_at, id)``."""
    query = select(ApiKey)
    if owner_id is not None:
        query = query.where(ApiKey.owner_id == owner_id)
    if after is not None:
        query = query.where(
            or_(
                ApiKey.created_at < after.created_at,
                and_(ApiKey.created_at == after.created_at, ApiKey.id < after.job_id),
            )
        )
    query = query.order_by(ApiKey.created_at.desc(), ApiKey.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def touch_last_used(
    session: AsyncSession, key_id: str, *, now: datetime, stale_before: datetime
) -> None:
    """Set ``last_used_at`` unless another request did since ``stale_before``."""
    await session.execute(
        update(ApiKey)
        .where(
            ApiKey.id == key_id,
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < stale_before),
        )
        .values(last_used_at=now)
    )


def add(session: AsyncSession, key: ApiKey) -> None:
    session.add(key)
