"""Costs in SQL: usage by day or model, and an owner's spend since a day (SQLite and PostgreSQL).

Days are the ``created_day`` column (``YYYY-MM-DD``, UTC, written at submit), so grouping
and ranges are plain string comparisons that both databases index the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import ColumnElement, and_, case, func, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.jobstate import JobStatus, is_final
from reelhouse.gateway.db.models import Job

GroupBy = Literal["day", "model"]

_FINAL = [status.value for status in JobStatus if is_final(status)]


@dataclass(frozen=True, slots=True)
class UsageLine:
    key: str
    jobs: int
    video_seconds: float
    images: int
    estimated_usd: float | None
    actual_usd: float | None
    unknown_cost_jobs: int


def _unknown_cost() -> ColumnElement[bool]:
    """Finished without a known actual cost, or still at work without a known estimate."""
    final = Job.status.in_(_FINAL)
    return or_(
        and_(final, Job.cost_actual_usd.is_(None)),
        and_(not_(final), Job.cost_estimate_usd.is_(None)),
    )


def _money(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


async def usage(
    session: AsyncSession, *, owner_id: str, first_day: str, last_day: str, group_by: GroupBy
) -> list[UsageLine]:
    """The owner's jobs created from ``first_day`` to ``last_day`` (both inclusive), grouped."""
    key = Job.created_day if group_by == "day" else Job.model
    query = (
        select(
            key,
            func.count(),
            func.coalesce(func.sum(Job.output_seconds), 0.0),
            func.coalesce(func.sum(Job.output_images), 0),
            func.sum(Job.cost_estimate_usd),
            func.sum(Job.cost_actual_usd),
            func.coalesce(func.sum(case((_unknown_cost(), 1), else_=0)), 0),
        )
        .where(
            Job.owner_id == owner_id,
            Job.created_day >= first_day,
            Job.created_day <= last_day,
        )
        .group_by(key)
        .order_by(key)
    )
    rows = (await session.execute(query)).all()
    return [
        UsageLine(
            key=str(row[0]),
            jobs=int(row[1]),
            video_seconds=round(float(row[2]), 3),
            images=int(row[3]),
            estimated_usd=_money(row[4]),
            actual_usd=_money(row[5]),
            unknown_cost_jobs=int(row[6]),
        )
        for row in rows
    ]


async def spend_since(session: AsyncSession, *, owner_id: str, first_day: str) -> float:
    """What the owner's jobs since ``first_day`` cost: actual where known, else the estimate
    (unknown counts as 0)."""
    query = select(
        func.coalesce(func.sum(func.coalesce(Job.cost_actual_usd, Job.cost_estimate_usd, 0.0)), 0.0)
    ).where(Job.owner_id == owner_id, Job.created_day >= first_day)
    return round(float((await session.execute(query)).scalar_one()), 6)
