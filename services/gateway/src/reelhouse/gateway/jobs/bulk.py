"""Admin bulk operations: retry or cancel every job a filter matches, bounded per call.

A call acts on at most ``limit`` jobs (default and maximum ``REELHOUSE_RETRY__BULK_MAX_JOBS``),
oldest first, each in its own transaction, so one job that cannot be retried does not stop
the others; call again for the rest (acted-on jobs no longer match). ``dry_run`` counts and
lists the first ids without acting. Retry considers only ``failed``/``canceled`` jobs not
retried yet; cancel only jobs in progress whose cancel was not asked yet.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import structlog
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import CancelRequested, utcnow
from reelhouse.common.jobstate import FINAL_STATES, JobStatus
from reelhouse.common.logging import job_context
from reelhouse.gateway.catalog.loader import Catalog
from reelhouse.gateway.costs.settings import CostSettings
from reelhouse.gateway.db.models import Job
from reelhouse.gateway.jobs import repository
from reelhouse.gateway.jobs.cancel import cancel_event_id
from reelhouse.gateway.jobs.filters import JobFilter
from reelhouse.gateway.jobs.retry import RETRYABLE, retry_job
from reelhouse.gateway.jobs.service import event_row
from reelhouse.gateway.outbox import repository as outbox
from reelhouse.gateway.problems import ProblemError
from reelhouse.gateway.settings import RetrySettings

log = structlog.get_logger(__name__)

IN_PROGRESS = frozenset(JobStatus) - FINAL_STATES


@dataclass(frozen=True, slots=True)
class Outcome:
    job_id: str
    # the new job (retry), or None
    retry_id: str | None = None
    # why the job was skipped (an error code), or None when it was acted on
    skipped: str | None = None


@dataclass(frozen=True, slots=True)
class BulkResult:
    matched: int
    job_ids: list[str]
    outcomes: list[Outcome]


def _narrowed(filters: JobFilter, allowed: frozenset[JobStatus]) -> JobFilter:
    """``filters`` limited to ``allowed`` statuses (an empty intersection matches nothing)."""
    return replace(filters, statuses=(filters.statuses & allowed) if filters.statuses else allowed)


async def _select(
    session: AsyncSession, filters: JobFilter, extra: ColumnElement[bool], limit: int
) -> tuple[int, list[str]]:
    if not filters.statuses:
        return 0, []
    matched = await repository.count_jobs(session, filters=filters, extra=[extra])
    ids = await repository.list_job_ids(session, filters=filters, extra=[extra], limit=limit)
    return matched, ids


async def bulk_retry(
    *,
    session: AsyncSession,
    catalog: Catalog,
    filters: JobFilter,
    limit: int,
    dry_run: bool,
    policy: RetrySettings,
    costs: CostSettings | None = None,
) -> BulkResult:
    scope = _narrowed(filters, frozenset(RETRYABLE))
    matched, ids = await _select(session, scope, Job.retried_by.is_(None), limit)
    await session.rollback()  # end the read before each job's own transaction
    if dry_run:
        return BulkResult(matched=matched, job_ids=ids, outcomes=[])
    outcomes: list[Outcome] = []
    for job_id in ids:
        with job_context(job_id):
            old = await repository.get_job_for_update(session, job_id)
            if old is None:
                await session.rollback()
                continue
            try:
                new = await retry_job(
                    session=session, catalog=catalog, old=old, policy=policy, costs=costs
                )
            except ProblemError as exc:
                await session.rollback()
                log.info("job.bulk_retry_skipped", code=exc.code)
                outcomes.append(Outcome(job_id=job_id, skipped=exc.code))
                continue
            outcomes.append(Outcome(job_id=job_id, retry_id=new.id))
    log.info("jobs.bulk_retried", matched=matched, acted=len(outcomes))
    return BulkResult(matched=matched, job_ids=ids, outcomes=outcomes)


async def bulk_cancel(
    *, session: AsyncSession, filters: JobFilter, limit: int, dry_run: bool
) -> BulkResult:
    scope = _narrowed(filters, IN_PROGRESS)
    matched, ids = await _select(session, scope, Job.cancel_requested_at.is_(None), limit)
    await session.rollback()
    if dry_run:
        return BulkResult(matched=matched, job_ids=ids, outcomes=[])
    outcomes: list[Outcome] = []
    for job_id in ids:
        with job_context(job_id):
            job = await repository.get_job_for_update(session, job_id)
            status = JobStatus(job.status) if job is not None else None
            if job is None or status not in IN_PROGRESS or job.cancel_requested_at is not None:
                # it finished (or was canceled) since it was selected
                await session.rollback()
                outcomes.append(Outcome(job_id=job_id, skipped="job_final"))
                continue
            now = utcnow()
            event = CancelRequested(
                event_id=cancel_event_id(job.id),
                job_id=job.id,
                occurred_at=now,
                owner_id=job.owner_id,
            )
            job.cancel_requested_at = now
            job.updated_at = now
            repository.add_event(session, event_row(event, status=None, applied=False))
            outbox.add(session, event, now=now)
            await session.commit()
            log.info("job.cancel_requested", status=job.status, bulk=True)
            outcomes.append(Outcome(job_id=job_id))
    log.info("jobs.bulk_canceled", matched=matched, acted=len(outcomes))
    return BulkResult(matched=matched, job_ids=ids, outcomes=outcomes)
