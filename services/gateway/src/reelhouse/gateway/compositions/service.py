"""Reading compositions, cancelling one (cascading to its parts) and retrying its failed parts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import utcnow
from reelhouse.common.jobstate import JobStatus, is_final
from reelhouse.gateway.auth.principal import Principal
from reelhouse.gateway.catalog.loader import Catalog
from reelhouse.gateway.compositions import repository
from reelhouse.gateway.compositions.ids import CompositionStatus, is_composition_id
from reelhouse.gateway.compositions.progress import cancel_parts, request_film
from reelhouse.gateway.costs.settings import CostSettings
from reelhouse.gateway.db.models import Composition, Job
from reelhouse.gateway.jobs import repository as jobs
from reelhouse.gateway.jobs.cursor import Cursor, InvalidCursorError, decode_cursor, encode_cursor
from reelhouse.gateway.jobs.retry import retry_accepted, stage_retry
from reelhouse.gateway.problems import FieldError, ProblemError
from reelhouse.gateway.settings import RetrySettings
from reelhouse.gateway.webhooks.recorder import DeliveryRecorder, rfc3339

log = structlog.get_logger(__name__)

RETRYABLE_PARTS = frozenset({JobStatus.FAILED.value, JobStatus.CANCELED.value})


@dataclass(frozen=True, slots=True)
class CompositionWithParts:
    composition: Composition
    parts: list[Job]


def api_cause(composition_id: str, action: str, now: datetime) -> str:
    """What keys the webhook deliveries of a change made through the API (cancel, retry)."""
    return f"{composition_id}:{action}:{rfc3339(now)}"


async def _record(
    session: AsyncSession,
    webhooks: DeliveryRecorder | None,
    composition: Composition,
    *,
    action: str,
    now: datetime,
) -> int:
    if webhooks is None:
        return 0
    return await webhooks.record_composition(
        session,
        composition,
        cause=api_cause(composition.id, action, now),
        moved_to=composition.status,
        occurred_at=now,
        now=now,
    )


def _not_found() -> ProblemError:
    return ProblemError("not_found", "No such composition.")


async def owned_composition(
    session: AsyncSession, owner: Principal, composition_id: str, *, for_update: bool = False
) -> Composition:
    found = (
        await repository.get_owned(
            session,
            owner_id=owner.owner_id,
            composition_id=composition_id,
            for_update=for_update,
        )
        if is_composition_id(composition_id)
        else None
    )
    if found is None:
        raise _not_found()
    return found


async def with_parts(session: AsyncSession, composition: Composition) -> CompositionWithParts:
    parts = await repository.parts_of(session, [composition.id])
    return CompositionWithParts(composition=composition, parts=parts[composition.id])


async def get_composition(
    *, session: AsyncSession, owner: Principal, composition_id: str
) -> CompositionWithParts:
    return await with_parts(session, await owned_composition(session, owner, composition_id))


async def list_compositions(
    *,
    session: AsyncSession,
    owner: Principal,
    statuses: list[str],
    limit: int,
    cursor: str | None,
) -> tuple[list[CompositionWithParts], str | None]:
    """One page of the owner's compositions, newest first, and the next cursor."""
    try:
        after = decode_cursor(cursor) if cursor else None
        if after is not None and not is_composition_id(after.job_id):
            raise InvalidCursorError(cursor)
    except InvalidCursorError as exc:
        raise ProblemError(
            "invalid_cursor", errors=[FieldError(path="query.cursor", message="invalid cursor")]
        ) from exc
    rows = await repository.list_owned(
        session, owner_id=owner.owner_id, statuses=statuses, limit=limit + 1, after=after
    )
    page, more = rows[:limit], len(rows) > limit
    parts = await repository.parts_of(session, [row.id for row in page])
    next_cursor = (
        encode_cursor(Cursor(created_at=page[-1].created_at, job_id=page[-1].id)) if more else None
    )
    return [CompositionWithParts(row, parts[row.id]) for row in page], next_cursor


async def cancel_composition(
    *,
    session: AsyncSession,
    owner: Principal,
    composition_id: str,
    webhooks: DeliveryRecorder | None = None,
) -> CompositionWithParts:
    """Cancel a composition still generating, and every part still running; idempotent."""
    composition = await owned_composition(session, owner, composition_id, for_update=True)
    status = CompositionStatus(composition.status)
    if status is CompositionStatus.CANCELED:
        log.info("composition.cancel_repeated")
    elif status is not CompositionStatus.GENERATING:
        raise ProblemError(
            "composition_final",
            f"The composition is {status.value}; it can no longer be canceled.",
        )
    else:
        now = utcnow()
        parts = await repository.current_parts(session, composition.id)
        composition.status = CompositionStatus.CANCELED.value
        composition.cancel_requested_at = now
        composition.updated_at = now
        canceled = cancel_parts(session, composition, parts, now)
        deliveries = await _record(session, webhooks, composition, action="cancel", now=now)
        await session.commit()
        if deliveries and webhooks is not None:
            webhooks.committed()
        log.info("composition.canceled", parts=canceled)
    return await with_parts(session, composition)


async def retry_composition(
    *,
    session: AsyncSession,
    catalog: Catalog,
    owner: Principal,
    composition_id: str,
    policy: RetrySettings,
    costs: CostSettings | None = None,
    webhooks: DeliveryRecorder | None = None,
) -> CompositionWithParts:
    """Generate the failed or canceled parts again (new jobs), then assemble anew.

    A composition whose parts all succeeded but whose assembly failed is assembled again.
    """
    composition = await owned_composition(session, owner, composition_id, for_update=True)
    status = CompositionStatus(composition.status)
    gaps = bool(composition.missing) or status is not CompositionStatus.SUCCEEDED
    if status in (CompositionStatus.GENERATING, CompositionStatus.ASSEMBLING) or not gaps:
        raise ProblemError(
            "composition_not_retryable",
            f"The composition is {status.value}"
            + ("" if gaps else " with every scene")
            + "; only a failed or canceled one, or one assembled without some scenes, can be "
            "retried.",
        )
    parts = await repository.current_parts(session, composition.id)
    running = [p.id for p in parts if not is_final(JobStatus(p.status))]
    if running:
        raise ProblemError(
            "composition_not_retryable",
            f"{len(running)} of its parts are still finishing their cancel; retry once they "
            "have settled.",
        )
    now = utcnow()
    staged = []
    for part in parts:
        if part.status not in RETRYABLE_PARTS:
            continue
        old = await jobs.get_job_for_update(session, part.id)
        assert old is not None
        staged.append(
            (
                await stage_retry(
                    session=session, catalog=catalog, old=old, policy=policy, costs=costs
                ),
                old,
            )
        )
    composition.error = None
    composition.error_code = None
    composition.outputs = []
    composition.assembly_method = None
    composition.cancel_requested_at = None
    composition.updated_at = now
    if staged:
        composition.status = CompositionStatus.GENERATING.value
        composition.missing = []
    else:  # every part succeeded: only the assembly failed
        await request_film(session, composition, parts, assets=[], job=None, now=now)
    deliveries = await _record(session, webhooks, composition, action="retry", now=now)
    try:
        await session.commit()
    except IntegrityError as exc:  # a concurrent retry won
        await session.rollback()
        raise ProblemError(
            "composition_not_retryable", "The composition was retried already."
        ) from exc
    if deliveries and webhooks is not None:
        webhooks.committed()
    for retry, old in staged:
        retry_accepted(retry, old)
    log.info("composition.retried", parts=[retry.job.id for retry, _ in staged])
    return await with_parts(session, composition)
