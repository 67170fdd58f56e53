"""SQL for compositions and their parts. Every owner-facing read is owner-scoped."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.gateway.db.models import Composition, Job, JobOutput
from reelhouse.gateway.jobs.cursor import Cursor


def add(session: AsyncSession, composition: Composition) -> None:
    session.add(composition)


async def get_owned(
    session: AsyncSession, *, owner_id: str, composition_id: str, for_update: bool = False
) -> Composition | None:
    query = select(Composition).where(
        Composition.id == composition_id, Composition.owner_id == owner_id
    )
    if for_update:
        query = query.with_for_update()
    return (await session.execute(query)).scalar_one_or_none()


async def lock(session: AsyncSession, composition_id: str) -> Composition | None:
    """The composition, row-locked until the transaction ends (PostgreSQL; SQLite has one
    writer). Parts settle concurrently in several projectors: this orders their decisions."""
    result = await session.execute(
        select(Composition).where(Composition.id == composition_id).with_for_update()
    )
    return result.scalar_one_or_none()


async def list_owned(
    session: AsyncSession,
    *,
    owner_id: str,
    statuses: Sequence[str],
    limit: int,
    after: Cursor | None,
) -> list[Composition]:
    """Newest first; ``after`` continues strictly below the cursor's ``(created_at, id)``."""
    query = select(Composition).where(Composition.owner_id == owner_id)
    if statuses:
        query = query.where(Composition.status.in_(statuses))
    if after is not None:
        query = query.where(
            or_(
                Composition.created_at < after.created_at,
                and_(Composition.created_at == after.created_at, Composition.id < after.job_id),
            )
        )
    query = query.order_by(Composition.created_at.desc(), Composition.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def parts_of(session: AsyncSession, composition_ids: Sequence[str]) -> dict[str, list[Job]]:
    """Every job of each composition (retried ones too), oldest first."""
    if not composition_ids:
        return {}
    result = await session.execute(
        select(Job).where(Job.composition_id.in_(composition_ids)).order_by(Job.created_at, Job.id)
    )
    by_composition: dict[str, list[Job]] = {cid: [] for cid in composition_ids}
    for job in result.scalars():
        assert job.composition_id is not None
        by_composition[job.composition_id].append(job)
    return by_composition


async def current_parts(session: AsyncSession, composition_id: str) -> list[Job]:
    """The composition's parts as they stand: the newest job of each (not retried)."""
    result = await session.execute(
        select(Job).where(Job.composition_id == composition_id, Job.retried_by.is_(None))
    )
    return list(result.scalars())


async def first_outputs(session: AsyncSession, job_ids: Sequence[str]) -> dict[str, JobOutput]:
    """Each job's first stored output (index 0)."""
    if not job_ids:
        return {}
    result = await session.execute(
        select(JobOutput).where(JobOutput.job_id.in_(job_ids), JobOutput.index == 0)
    )
    return {output.job_id: output for output in result.scalars()}


def as_json(value: Any) -> Any:
    """A copy for a JSON column (a new object, so the ORM sees the change)."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value
