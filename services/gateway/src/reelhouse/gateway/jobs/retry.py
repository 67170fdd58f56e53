"""Retrying a finished job: a new job with the same model and input, linked both ways.

Rules (README "Retrying failed jobs"):

- only a ``failed`` or ``canceled`` job can be retried; one still in progress is a 409
  ``job_not_final``, a ``succeeded`` one a 409 ``job_not_retryable``;
- a job is retried at most once (``retried_by``); retrying it again is a 409
  ``already_retried`` naming the retry — retry the newest job of the chain instead. A
  unique index on ``retry_of`` keeps this true under concurrent requests;
- the model must still be in the catalogue and available, and the input must still fit
  its schema (``unknown_model``, ``model_unavailable``, ``validation_error``);
- a job that failed while downloading, whose provider output is still fresh (see
  ``redownload_outputs``), is re-downloaded: the new job starts in ``downloading`` with a
  ``gen.output.v1`` carrying the same provider URLs, so the downloader fetches them again
  and no provider is asked to generate again. Otherwise the new job is generated afresh
  (``gen.requested.v1``), exactly like a new submit.

The new job, its first event, the outbox row and the old job's ``retried_by`` are written
in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import (
    Event,
    GenerationOutputReady,
    GenerationRequested,
    OutputFile,
    utcnow,
)
from reelhouse.common.jobstate import JobStatus, is_final
from reelhouse.common.logging import job_context
from reelhouse.gateway.catalog.loader import Catalog, CatalogModel
from reelhouse.gateway.costs.budget import ensure_within_budget
from reelhouse.gateway.costs.columns import cost_columns
from reelhouse.gateway.costs.settings import CostSettings
from reelhouse.gateway.db.models import Job
from reelhouse.gateway.jobs import repository
from reelhouse.gateway.jobs.attempts import Attempt, dump_attempts
from reelhouse.gateway.jobs.service import (
    ensure_available,
    event_row,
    is_job_id,
    new_job_id,
    prepared_input,
)
from reelhouse.gateway.metrics import observe_accepted
from reelhouse.gateway.outbox import repository as outbox
from reelhouse.gateway.problems import ProblemError
from reelhouse.gateway.settings import RetrySettings
from reelhouse.gateway.uploads.references import resolve_references

log = structlog.get_logger(__name__)

RETRYABLE = frozenset({JobStatus.FAILED, JobStatus.CANCELED})
# download failures a second fetch of the same URL cannot fix
_NOT_REFETCHABLE = frozenset({"output_url_expired", "download_blocked"})


def redownload_outputs(
    job: Job, output_payload: dict[str, Any] | None, *, policy: RetrySettings, now: datetime
) -> GenerationOutputReady | None:
    """The old job's provider output when fetching it again may work, else None.

    Only for a job that failed in the download stage (not because the URL expired or was
    blocked), within ``redownload_window_seconds`` of the output event, with every URL's
    stated expiry at least ``redownload_margin_seconds`` away.
    """
    error = job.error or {}
    if (
        job.status != JobStatus.FAILED.value
        or error.get("stage") != "download"
        or error.get("code") in _NOT_REFETCHABLE
        or output_payload is None
        or policy.redownload_window_seconds <= 0
    ):
        return None
    try:
        output = GenerationOutputReady.model_validate(output_payload)
    except ValidationError:
        return None
    margin = timedelta(seconds=policy.redownload_margin_seconds)
    window = timedelta(seconds=policy.redownload_window_seconds)
    if not output.outputs or output.occurred_at + window < now + margin:
        return None
    if any(o.expires_at is not None and o.expires_at < now + margin for o in output.outputs):
        return None
    return output


def _retry_model(catalog: Catalog, job: Job) -> tuple[CatalogModel, dict[str, Any]]:
    model = catalog.get(job.model)
    if model is None:
        raise ProblemError(
            "unknown_model",
            f"This deployment no longer offers {job.model!r}; the job cannot be retried.",
        )
    ensure_available(catalog, model)
    prepared = prepared_input(
        model, job.input, detail=f"The job's input no longer fits the schema of {model.id!r}."
    )
    return model, prepared


def check_retryable(job: Job) -> None:
    status = JobStatus(job.status)
    if not is_final(status):
        raise ProblemError(
            "job_not_final",
            f"The generation is still {status.value}; retry it once it failed or was canceled.",
        )
    if status not in RETRYABLE:
        raise ProblemError(
            "job_not_retryable", "The generation succeeded; there is nothing to retry."
        )
    if job.retried_by is not None:
        raise ProblemError(
            "already_retried",
            f"The generation was retried already by {job.retried_by}; retry that one instead.",
        )


def _new_job(
    old: Job, model: CatalogModel, prepared: dict[str, Any], now: datetime, *, redownload: bool
) -> Job:
    return Job(
        id=new_job_id(),
        owner_id=old.owner_id,
        model=model.id,
        provider=model.provider,
        provider_model=model.provider_model,
        input=prepared,
        status=JobStatus.QUEUED.value,
        error=None,
        error_code=None,
        deadline_seconds=old.deadline_seconds,
        provider_request_id=None,
        created_at=now,
        updated_at=now,
        routes=[route.model_dump() for route in model.routes],
        start_deadline_seconds=old.start_deadline_seconds,
        cancel_requested_at=None,
        attempts=[],
        retry_of=old.id,
        retried_by=None,
        **cost_columns(model.price, prepared, now=now, redownload=redownload),
    )


def _requested(
    job: Job, model: CatalogModel, now: datetime, input_objects: dict[str, str]
) -> GenerationRequested:
    return GenerationRequested(
        event_id=f"{job.id}:requested",
        job_id=job.id,
        occurred_at=now,
        owner_id=job.owner_id,
        model=model.id,
        provider=model.provider,
        provider_model=model.provider_model,
        input=job.input,
        deadline_seconds=job.deadline_seconds,
        start_deadline_seconds=job.start_deadline_seconds,
        routes=list(model.routes),
        input_objects=input_objects,
    )


def _redownload(
    job: Job, old: Job, model: CatalogModel, found: GenerationOutputReady, now: datetime
) -> GenerationOutputReady:
    """Turn ``job`` into a re-download of ``old``'s output; the event that starts it."""
    job.status = JobStatus.DOWNLOADING.value
    job.provider = found.provider
    job.provider_model = next(
        (r.provider_model for r in model.routes if r.provider == found.provider),
        model.provider_model,
    )
    job.provider_request_id = found.provider_request_id
    job.attempts = dump_attempts(
        [
            Attempt(
                provider=found.provider,
                provider_request_id=found.provider_request_id,
                status="succeeded",
                redownload_of=old.id,
            )
        ]
    )
    return GenerationOutputReady(
        event_id=f"{job.id}:output",
        job_id=job.id,
        occurred_at=now,
        provider=found.provider,
        provider_request_id=found.provider_request_id,
        outputs=[OutputFile.model_validate(o.model_dump()) for o in found.outputs],
    )


@dataclass(frozen=True, slots=True)
class StagedRetry:
    job: Job
    model: CatalogModel
    redownload: bool


async def stage_retry(
    *,
    session: AsyncSession,
    catalog: Catalog,
    old: Job,
    policy: RetrySettings,
    costs: CostSettings | None = None,
) -> StagedRetry:
    """Add the retry of ``old`` (locked by the caller) to ``session``, uncommitted.

    ``costs``: the owner's monthly budget is checked (as for a submit) before any write.
    """
    check_retryable(old)
    model, prepared = _retry_model(catalog, old)
    now = utcnow()
    output_event = await repository.first_event_on(session, old.id, GenerationOutputReady.subject)
    found = redownload_outputs(
        old, output_event.payload if output_event else None, policy=policy, now=now
    )
    job = _new_job(old, model, prepared, now, redownload=found is not None)
    job.composition_id = old.composition_id
    job.composition_part = old.composition_part
    if costs is not None:
        await ensure_within_budget(
            session,
            costs,
            owner_id=old.owner_id,
            estimate_usd=job.cost_estimate_usd,
            now=now,
        )
    event: Event
    if found is not None:
        event = _redownload(job, old, model, found, now)
        row = event_row(event, status=JobStatus.DOWNLOADING, applied=True)
        row.payload = {**row.payload, "redownload_of": old.id}
    else:
        # the uploads it names must still exist (a deleted one makes the retry a 422)
        input_objects = await resolve_references(
            session,
            owner_id=old.owner_id,
            schema=model.input_schema,
            input_=prepared,
            detail="The job's input names uploads that no longer exist; it cannot be retried.",
        )
        event = _requested(job, model, now, input_objects)
        row = event_row(event, status=JobStatus.QUEUED, applied=True)
    repository.add(session, job, row)
    outbox.add(session, event, now=now)
    old.retried_by = job.id
    old.updated_at = now
    return StagedRetry(job=job, model=model, redownload=found is not None)


def retry_accepted(staged: StagedRetry, old: Job) -> None:
    """Count and log a committed retry."""
    observe_accepted(staged.model.id)
    with job_context(staged.job.id):
        log.info(
            "job.retry_accepted",
            retry_of=old.id,
            redownload=staged.redownload,
            model=staged.model.id,
            owner_id=staged.job.owner_id,
        )


async def retry_job(
    *,
    session: AsyncSession,
    catalog: Catalog,
    old: Job,
    policy: RetrySettings,
    costs: CostSettings | None = None,
) -> Job:
    """Write the retry of ``old`` (locked by the caller) and commit; the new job."""
    staged = await stage_retry(
        session=session, catalog=catalog, old=old, policy=policy, costs=costs
    )
    try:
        await session.commit()
    except IntegrityError as exc:  # a concurrent retry of the same job won
        await session.rollback()
        raise ProblemError(
            "already_retried", "The generation was retried already; retry its retry instead."
        ) from exc
    retry_accepted(staged, old)
    return staged.job


async def retry_owned(
    *,
    session: AsyncSession,
    catalog: Catalog,
    owner_id: str,
    job_id: str,
    policy: RetrySettings,
    costs: CostSettings | None = None,
) -> Job:
    """``POST /v1/generations/{id}/retry``: the owner's job, or 404."""
    old = (
        await repository.get_owned_job_for_update(session, owner_id=owner_id, job_id=job_id)
        if is_job_id(job_id)
        else None
    )
    if old is None:
        raise ProblemError("not_found", "No such generation.")
    return await retry_job(session=session, catalog=catalog, old=old, policy=policy, costs=costs)
