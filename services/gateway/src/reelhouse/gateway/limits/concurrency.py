"""The per-owner concurrency limit: jobs past it wait in ``queued``, and start as others finish.

With a limit configured for its owner, a job's ``gen.requested`` outbox row is written held
(``held_for`` = the owner) and the relay does not publish it. Before each pass the relay
releases, per owner and oldest first (``created_at``, then id: FIFO per owner, nothing
starves), as many held rows as the owner has room for: the limit minus the owner's jobs at
work (not final, not held). The projector wakes the relay whenever a job moves, so a
finished job makes room at once. Held rows are not in the relay's batch at all, so they
never hold back other owners' rows; the owner's rows are locked while they are counted, so
two gateway processes cannot release the same room twice.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.jobstate import FINAL_STATES
from reelhouse.gateway.db.models import Job, OutboxMessage

log = structlog.get_logger(__name__)

LimitFor = Callable[[str], int | None]


FINAL = [s.value for s in FINAL_STATES]


async def release_owner(session: AsyncSession, owner_id: str, limit: int | None) -> int:
    """Release the owner's oldest held rows that fit under ``limit``; how many were released.

    A held job that is already final (canceled while it waited) takes no room: its row goes
    at once (the dispatcher, told of the cancel first, will not start it).
    """
    held = list(
        (
            await session.execute(
                select(OutboxMessage)
                .where(OutboxMessage.held_for == owner_id)
                .order_by(OutboxMessage.created_at, OutboxMessage.id)
                .with_for_update()
            )
        ).scalars()
    )
    if not held:
        return 0
    held_jobs = [m.job_id for m in held]
    finished = set(
        (
            await session.execute(
                select(Job.id).where(Job.id.in_(held_jobs), Job.status.in_(FINAL))
            )
        ).scalars()
    )
    waiting = [m for m in held if m.job_id not in finished]
    if limit is None:
        room = len(waiting)
    else:
        at_work = (
            await session.execute(
                select(func.count())
                .select_from(Job)
                .where(
                    Job.owner_id == owner_id,
                    Job.status.not_in(FINAL),
                    Job.id.not_in(held_jobs),
                )
            )
        ).scalar_one()
        room = max(0, limit - int(at_work))
    released = [m for m in held if m.job_id in finished] + waiting[:room]
    if released:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([m.id for m in released]))
            .values(held_for=None)
        )
        for message in released:
            log.info("limits.job_released", job_id=message.job_id, owner_id=owner_id)
    return len(released)


async def release_held(session: AsyncSession, limit_for: LimitFor) -> int:
    """Release what fits for every owner with held rows; how many rows in all."""
    owners = (
        await session.execute(
            select(OutboxMessage.held_for).where(OutboxMessage.held_for.is_not(None)).distinct()
        )
    ).scalars()
    released = 0
    for owner_id in sorted(o for o in owners if o is not None):
        released += await release_owner(session, owner_id, limit_for(owner_id))
    return released
