"""SQL for jobs, their events and their outputs. Every owner-facing read is owner-scoped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import Asset
from reelhouse.gateway.db.models import Job, JobEvent, JobOutput
from reelhouse.gateway.jobs.cursor import Cursor
from reelhouse.gateway.jobs.filters import JobFilter


def add(session: AsyncSession, job: Job, first_event: JobEvent) -> None:
    session.add(job)
    session.add(first_event)


async def get_job(session: AsyncSession, *, owner_id: str, job_id: str) -> Job | None:
    result = await session.execute(select(Job).where(Job.id == job_id, Job.owner_id == owner_id))
    return result.scalar_one_or_none()


async def get_job_for_update(session: AsyncSession, job_id: str) -> Job | None:
    """The job, row-locked until the transaction ends (PostgreSQL; SQLite has one writer)."""
    result = await session.execute(select(Job).where(Job.id == job_id).with_for_update())
    return result.scalar_one_or_none()


async def get_owned_job_for_update(
    session: AsyncSession, *, owner_id: str, job_id: str
) -> Job | None:
    """The owner's job, row-locked until the transaction ends."""
    result = await session.execute(
        select(Job).where(Job.id == job_id, Job.owner_id == owner_id).with_for_update()
    )
    return result.scalar_one_or_none()


async def list_jobs(
    session: AsyncSession, *, filters: JobFilter, limit: int, after: Cursor | None
) -> list[Job]:
    """Newest first; ``after`` continues strictly below the cursor's ``(created_at, id)``."""
    query = select(Job).where(*filters.conditions())
    if after is not None:
        query = query.where(
            or_(
                Job.created_at < after.created_at,
                and_(Job.created_at == after.created_at, Job.id < after.job_id),
            )
        )
    query = query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    return list((await session.execute(query)).scalars())


async def outputs_of(session: AsyncSession, job_ids: Sequence[str]) -> dict[str, list[JobOutput]]:
    if not job_ids:
        return {}
    result = await session.execute(
        select(JobOutput)
        .where(JobOutput.job_id.in_(job_ids))
        .order_by(JobOutput.job_id, JobOutput.index)
    )
    by_job: dict[str, list[JobOutput]] = {job_id: [] for job_id in job_ids}
    for output in result.scalars():
        by_job[output.job_id].append(output)
    return by_job


async def replace_outputs(session: AsyncSession, job_id: str, assets: Sequence[Asset]) -> None:
    await session.execute(delete(JobOutput).where(JobOutput.job_id == job_id))
    session.add_all(
        JobOutput(
            job_id=job_id,
            index=asset.index,
            key=asset.key,
            kind=asset.kind,
            content_type=asset.content_type,
            size=asset.size,
            sha256=asset.sha256,
            duration=asset.duration,
            width=asset.width,
            height=asset.height,
            fps=asset.fps,
            video_codec=asset.video_codec,
            audio_codec=asset.audio_codec,
            bit_rate=asset.bit_rate,
            poster_key=asset.poster_key,
        )
        for asset in assets
    )


async def event_recorded(session: AsyncSession, event_id: str) -> bool:
    result = await session.execute(select(JobEvent.id).where(JobEvent.event_id == event_id))
    return result.first() is not None


async def state_entered_at(session: AsyncSession, job_id: str, status: str) -> datetime | None:
    """When the job moved to ``status`` (its latest applied event to that state)."""
    result = await session.execute(
        select(func.max(JobEvent.occurred_at)).where(
            JobEvent.job_id == job_id, JobEvent.applied.is_(True), JobEvent.status == status
        )
    )
    # max() keeps the column's type, so the value comes back as an aware UTC datetime
    entered: datetime | None = result.scalar_one_or_none()
    return entered


def add_event(session: AsyncSession, event: JobEvent) -> None:
    session.add(event)


async def list_events(session: AsyncSession, job_id: str) -> list[JobEvent]:
    result = await session.execute(
        select(JobEvent).where(JobEvent.job_id == job_id).order_by(JobEvent.id)
    )
    return list(result.scalars())


async def count_jobs(
    session: AsyncSession, *, filters: JobFilter, extra: Sequence[ColumnElement[bool]] = ()
) -> int:
    result = await session.execute(
        select(func.count()).select_from(Job).where(*filters.conditions(), *extra)
    )
    return int(result.scalar_one())


async def list_job_ids(
    session: AsyncSession,
    *,
    filters: JobFilter,
    limit: int,
    extra: Sequence[ColumnElement[bool]] = (),
) -> list[str]:
    """Ids of matching jobs, oldest first (bulk operations work through a backlog in order)."""
    result = await session.execute(
        select(Job.id)
        .where(*filters.conditions(), *extra)
        .order_by(Job.created_at, Job.id)
        .limit(limit)
    )
    return list(result.scalars())


async def first_event_on(session: AsyncSession, job_id: str, subject: str) -> JobEvent | None:
    """The job's first recorded event on ``subject`` (e.g. its provider output)."""
    result = await session.execute(
        select(JobEvent)
        .where(JobEvent.job_id == job_id, JobEvent.subject == subject)
        .order_by(JobEvent.id)
        .limit(1)
    )
    return result.scalar_one_or_none()
