"""SQL for jobs, their events and their outputs. Every owner-facing read is owner-scoped."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Insert,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import Asset
from reelhouse.gateway.db.models import Job, JobEvent, JobOutput, OutboxMessage
from reelhouse.gateway.jobs.cursor import Cursor
from reelhouse.gateway.jobs.filters import JobFilter


def add(session: AsyncSession, job: Job, first_event: JobEvent) -> None:
    session.add(job)
    session.add(first_event)


JOBS, EVENTS, OUTBOX = (cast(Table, model.__table__) for model in (Job, JobEvent, OutboxMessage))
# one statement per shape of the submit's rows (in practice one): built once, not per request
_SUBMIT_STATEMENTS: dict[tuple[tuple[str, ...], ...], Insert] = {}


async def insert_job(
    session: AsyncSession,
    job: dict[str, Any],
    first_event: dict[str, Any],
    announcement: dict[str, Any],
) -> None:
    """Write a new job, its first event and the outbox row announcing it (column values).

    Plain ``INSERT``s — no unit of work, no identity map: the rows are not read back here
    (bench-submit's profile: the ORM flush of the three rows was a third of a submit's CPU).
    On PostgreSQL they go as one prepared statement (two data-modifying CTEs): one round trip.
    """
    if session.get_bind().dialect.name != "postgresql":
        await session.execute(insert(JOBS), job)
        await session.execute(insert(EVENTS), first_event)
        await session.execute(insert(OUTBOX), announcement)
        return
    shape = (tuple(job), tuple(first_event), tuple(announcement))
    statement = _SUBMIT_STATEMENTS.get(shape)
    if statement is None:
        statement = _SUBMIT_STATEMENTS[shape] = (
            insert(OUTBOX)
            .values(_binds(OUTBOX, "o_", announcement))
            .add_cte(insert(JOBS).values(_binds(JOBS, "j_", job)).cte("new_job"))
            .add_cte(insert(EVENTS).values(_binds(EVENTS, "e_", first_event)).cte("first_event"))
        )
    await session.execute(
        statement,
        {
            **{f"j_{name}": value for name, value in job.items()},
            **{f"e_{name}": value for name, value in first_event.items()},
            **{f"o_{name}": value for name, value in announcement.items()},
        },
    )


def _binds(table: Table, prefix: str, values: dict[str, Any]) -> dict[str, BindParameter[Any]]:
    return {name: bindparam(f"{prefix}{name}", type_=table.c[name].type) for name in values}


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


async def lock_job_for_event(
    session: AsyncSession, job_id: str, event_id: str
) -> tuple[Job, bool] | None:
    """The job, row-locked as ``get_job_for_update``, and whether ``event_id`` is recorded
    already (in any job's history: event ids are unique), in one query; None: no such job."""
    recorded = select(JobEvent.id).where(JobEvent.event_id == event_id).exists()
    result = await session.execute(
        select(Job, recorded).where(Job.id == job_id).with_for_update(of=Job)
    )
    row = result.first()
    return None if row is None else (row[0], bool(row[1]))


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
