"""SQL for uploads; every read and change is scoped to its owner, except the sweep's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import CursorResult, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.gateway.db.models import Upload
from reelhouse.gateway.jobs.cursor import Cursor


def add(session: AsyncSession, upload: Upload) -> None:
    session.add(upload)


async def get_upload(session: AsyncSession, *, owner_id: str, upload_id: str) -> Upload | None:
    result = await session.execute(
        select(Upload).where(Upload.id == upload_id, Upload.owner_id == owner_id)
    )
    return result.scalar_one_or_none()


async def list_uploads(
    session: AsyncSession, *, owner_id: str, limit: int, after: Cursor | None
) -> list[Upload]:
    """The owner's uploads newest first, ``(created_at, id)`` after ``after``."""
    query = select(Upload).where(Upload.owner_id == owner_id)
    if after is not None:
        query = query.where(
            or_(
                Upload.created_at < after.created_at,
                and_(Upload.created_at == after.created_at, Upload.id < after.job_id),
            )
        )
    query = query.order_by(Upload.created_at.desc(), Upload.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


@dataclass(frozen=True, slots=True)
class UsedUpload:
    object_key: str
    content_type: str


async def mark_used(
    session: AsyncSession, *, owner_id: str, upload_id: str, now: datetime
) -> UsedUpload | None:
    """Record a use of the owner's upload (in the caller's transaction); what it is, or None.

    An UPDATE, not a read: a sweep deleting the row at the same time either finds it freshly
    used (and keeps it) or has deleted it already (and this finds nothing).
    """
    result = await session.execute(
        update(Upload)
        .where(Upload.id == upload_id, Upload.owner_id == owner_id)
        .values(last_used_at=now, last_used=now)
        .returning(Upload.object_key, Upload.content_type)
    )
    row = result.one_or_none()
    return None if row is None else UsedUpload(object_key=row[0], content_type=row[1])


async def delete_owned(session: AsyncSession, *, owner_id: str, upload_id: str) -> bool:
    result = await session.execute(
        delete(Upload).where(Upload.id == upload_id, Upload.owner_id == owner_id)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


async def list_expired(
    session: AsyncSession, *, cutoff: datetime, limit: int
) -> list[tuple[str, str]]:
    """``(id, object_key)`` of uploads last used before ``cutoff``, oldest first."""
    result = await session.execute(
        select(Upload.id, Upload.object_key)
        .where(Upload.last_used < cutoff)
        .order_by(Upload.last_used)
        .limit(limit)
    )
    return [(row.id, row.object_key) for row in result]


async def delete_if_expired(session: AsyncSession, *, upload_id: str, cutoff: datetime) -> bool:
    """Delete the upload unless it was used since ``cutoff`` (a submit got there first)."""
    result = await session.execute(
        delete(Upload).where(Upload.id == upload_id, Upload.last_used < cutoff)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1
