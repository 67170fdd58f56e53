"""SQL for live streams: job events after a position, each with the job's status after it.

The serial ``job_events.id`` orders a job's events (the projector row-locks the job, so
one job's rows commit in id order); across jobs, PostgreSQL may commit ids out of order,
which ``watermark.Watermark`` deals with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.selectable import ScalarSelect

from reelhouse.common.jobstate import JobStatus
from reelhouse.gateway.db.models import Job, JobEvent


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """A recorded event and the job's status once it was applied."""

    row: JobEvent
    job_status: JobStatus


@dataclass(frozen=True, slots=True)
class Position:
    """Where an event sits: its serial id and its job."""

    pk: int
    job_id: str


@dataclass(frozen=True, slots=True)
class Committed:
    """A committed row seen by a watermark: its serial id, when recorded, whose."""

    pk: int
    recorded_at: datetime
    mine: bool


def _status_after() -> ScalarSelect[str | None]:
    """The status of the latest applied move of the row's job, up to and including the row."""
    earlier = aliased(JobEvent)
    return (
        select(earlier.status)
        .where(
            earlier.job_id == JobEvent.job_id,
            earlier.id <= JobEvent.id,
            earlier.applied.is_(True),
            earlier.status.is_not(None),
        )
        .order_by(earlier.id.desc())
        .limit(1)
        .correlate(JobEvent)
        .scalar_subquery()
    )


def _live(rows: Sequence[tuple[JobEvent, str | None]]) -> list[LiveEvent]:
    return [
        LiveEvent(row=row, job_status=JobStatus(status or JobStatus.QUEUED.value))
        for row, status in rows
    ]


async def job_events_after(
    session: AsyncSession, *, job_id: str, after: int, limit: int
) -> list[LiveEvent]:
    """The job's events with an id above ``after``, oldest first."""
    query = (
        select(JobEvent, _status_after())
        .where(JobEvent.job_id == job_id, JobEvent.id > after)
        .order_by(JobEvent.id)
        .limit(limit)
    )
    return _live([(row, status) for row, status in (await session.execute(query)).all()])


async def events_by_pk(session: AsyncSession, pks: Sequence[int]) -> list[LiveEvent]:
    if not pks:
        return []
    query = select(JobEvent, _status_after()).where(JobEvent.id.in_(pks)).order_by(JobEvent.id)
    return _live([(row, status) for row, status in (await session.execute(query)).all()])


async def committed_after(
    session: AsyncSession, *, owner_id: str, after: int, limit: int
) -> list[Committed]:
    """Every committed event id above ``after`` (any owner's: gaps must be told from them)."""
    query = (
        select(JobEvent.id, JobEvent.recorded_at, Job.owner_id)
        .join(Job, Job.id == JobEvent.job_id)
        .where(JobEvent.id > after)
        .order_by(JobEvent.id)
        .limit(limit)
    )
    return [
        Committed(pk=pk, recorded_at=recorded_at, mine=owner == owner_id)
        for pk, recorded_at, owner in (await session.execute(query)).all()
    ]


async def find_event(session: AsyncSession, *, owner_id: str, event_id: str) -> Position | None:
    """The owner's event ``event_id`` (another owner's is None, as an unknown one is)."""
    query = (
        select(JobEvent.id, JobEvent.job_id)
        .join(Job, Job.id == JobEvent.job_id)
        .where(JobEvent.event_id == event_id, Job.owner_id == owner_id)
    )
    found = (await session.execute(query)).first()
    return None if found is None else Position(pk=found[0], job_id=found[1])


async def newest_pk(session: AsyncSession) -> int:
    newest: int | None = (await session.execute(select(func.max(JobEvent.id)))).scalar_one()
    return newest or 0
