"""Generation jobs: accept one (job + first event + outbox row in one transaction), read them."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import Event, GenerationRequested, utcnow
from reelhouse.common.jobstate import JobStatus
from reelhouse.common.logging import job_context
from reelhouse.gateway.auth.dependencies import Principal
from reelhouse.gateway.catalog.loader import Catalog, CatalogModel
from reelhouse.gateway.catalog.validation import InvalidInputError
from reelhouse.gateway.costs.budget import ensure_within_budget
from reelhouse.gateway.costs.columns import cost_columns
from reelhouse.gateway.costs.settings import CostSettings
from reelhouse.gateway.db.models import Job, JobEvent, JobOutput
from reelhouse.gateway.jobs import repository
from reelhouse.gateway.jobs.cursor import Cursor, InvalidCursorError, decode_cursor, encode_cursor
from reelhouse.gateway.jobs.deadlines import DeadlineLimits
from reelhouse.gateway.jobs.filters import JobFilter
from reelhouse.gateway.jobs.schemas import GenerationCreate
from reelhouse.gateway.metrics import observe_accepted
from reelhouse.gateway.outbox import repository as outbox
from reelhouse.gateway.problems import FieldError, ProblemError
from reelhouse.gateway.uploads.references import resolve_references
from reelhouse.gateway.webhooks.subscription import WebhookSubscription

log = structlog.get_logger(__name__)

JOB_ID_PREFIX = "gen_"
_JOB_ID = re.compile(r"gen_[0-9a-f]{32}")


def new_job_id() -> str:
    return JOB_ID_PREFIX + uuid.uuid4().hex


def is_job_id(value: str) -> bool:
    """Whether ``value`` could be a job id (anything else is answered 404 without a query)."""
    return _JOB_ID.fullmatch(value) is not None


def without_nul(value: Any) -> Any:
    """JSON with NUL characters replaced: PostgreSQL's jsonb refuses them (\\u0000)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    return value


def event_payload(event: Event) -> dict[str, Any]:
    payload: dict[str, Any] = without_nul(json.loads(event.model_dump_json()))
    return payload


def event_values(event: Event, *, status: JobStatus | None, applied: bool) -> dict[str, Any]:
    """A ``job_events`` row's column values for ``event``."""
    return {
        "event_id": event.event_id,
        "job_id": event.job_id,
        "type": event.event_type,
        "subject": event.subject,
        "status": status.value if status is not None else None,
        "applied": applied,
        "occurred_at": event.occurred_at,
        "recorded_at": utcnow(),
        "payload": event_payload(event),
    }


def event_row(event: Event, *, status: JobStatus | None, applied: bool) -> JobEvent:
    return JobEvent(**event_values(event, status=status, applied=applied))


@dataclass(frozen=True, slots=True)
class JobWithOutputs:
    job: Job
    outputs: list[JobOutput]


def prepared_input(model: CatalogModel, input_: dict[str, Any], *, detail: str) -> dict[str, Any]:
    """``input_`` checked against the model's schema, defaults applied; 422 naming each field."""
    try:
        return model.prepare_input(input_)
    except InvalidInputError as exc:
        raise ProblemError(
            "validation_error",
            detail,
            errors=[FieldError(path=e.path, message=e.message) for e in exc.errors],
        ) from exc


@dataclass(frozen=True, slots=True)
class PlannedJob:
    """A checked generation, not yet written: its row's values and its first event."""

    values: dict[str, Any]
    event: GenerationRequested
    model: CatalogModel

    @property
    def estimate_usd(self) -> float | None:
        estimate: float | None = self.values["cost_estimate_usd"]
        return estimate


async def plan_generation(
    *,
    session: AsyncSession,
    catalog: Catalog,
    owner_id: str,
    model_id: str,
    input_: dict[str, Any],
    deadlines: DeadlineLimits,
    deadline_seconds: int | None = None,
    start_deadline_seconds: int | None = None,
    webhook: WebhookSubscription | None = None,
    now: datetime,
) -> PlannedJob:
    """Check a generation against the catalogue (422s name the field) and build its rows.

    The uploads its input names are marked used in ``session``'s transaction.
    """
    model = catalog.get(model_id)
    if model is None:
        raise ProblemError(
            "unknown_model",
            f"This deployment does not offer {model_id!r}; see GET /v1/models.",
            errors=[FieldError(path="model", message="unknown model")],
        )
    ensure_available(catalog, model)
    prepared = prepared_input(
        model, input_, detail=f"The input does not fit the schema of {model.id!r}."
    )
    input_objects = await resolve_references(
        session,
        owner_id=owner_id,
        schema=model.input_schema,
        input_=prepared,
        detail=f"The input names uploads this key's owner does not have ({model.id!r}).",
    )
    deadline, start_deadline = deadlines.resolve(
        deadline_seconds=deadline_seconds, start_deadline_seconds=start_deadline_seconds
    )
    job_id = new_job_id()
    event = GenerationRequested(
        event_id=f"{job_id}:requested",
        job_id=job_id,
        occurred_at=now,
        owner_id=owner_id,
        model=model.id,
        provider=model.provider,
        provider_model=model.provider_model,
        input=prepared,
        deadline_seconds=deadline,
        start_deadline_seconds=start_deadline,
        routes=list(model.routes),
        input_objects=input_objects,
    )
    values: dict[str, Any] = {
        "id": job_id,
        "owner_id": owner_id,
        "model": model.id,
        "provider": model.provider,
        "provider_model": model.provider_model,
        "input": prepared,
        "status": JobStatus.QUEUED.value,
        "error": None,
        "deadline_seconds": deadline,
        "provider_request_id": None,
        "created_at": now,
        "updated_at": now,
        "routes": [route.model_dump() for route in model.routes],
        "start_deadline_seconds": start_deadline,
        "cancel_requested_at": None,
        "attempts": [],
        "webhook_url": webhook.url if webhook else None,
        "webhook_events": list(webhook.events) if webhook else None,
        **cost_columns(model.price, prepared, now=now),
    }
    return PlannedJob(values=values, event=event, model=model)


async def write_planned(
    session: AsyncSession, planned: PlannedJob, *, held_for: str | None, now: datetime
) -> Job:
    """Insert the job, its first event and its outbox row; the answer's view of the row."""
    await repository.insert_job(
        session,
        planned.values,
        event_values(planned.event, status=JobStatus.QUEUED, applied=True),
        outbox.row_values(planned.event, now=now, held_for=held_for),
    )
    # never added to the session: the rows went in as plain INSERTs
    return Job(**planned.values)


async def submit_generation(
    *,
    session: AsyncSession,
    catalog: Catalog,
    owner: Principal,
    request: GenerationCreate,
    deadlines: DeadlineLimits,
    before_commit: Callable[[Job], Awaitable[None]] | None = None,
    webhook: WebhookSubscription | None = None,
    held: bool = False,
    costs: CostSettings | None = None,
) -> Job:
    """Validate against the catalogue, then write the job, its first event and the outbox row.

    ``before_commit`` joins the job's transaction (the Idempotency-Key claim is completed so);
    ``held``: the owner has a concurrency limit, so the row waits until the relay releases it;
    ``costs``: the owner's monthly budget is checked before anything is written.
    """
    now = utcnow()
    planned = await plan_generation(
        session=session,
        catalog=catalog,
        owner_id=owner.owner_id,
        model_id=request.model,
        input_=request.input,
        deadlines=deadlines,
        deadline_seconds=request.deadline_seconds,
        start_deadline_seconds=request.start_deadline_seconds,
        webhook=webhook,
        now=now,
    )
    if costs is not None:
        await ensure_within_budget(
            session, costs, owner_id=owner.owner_id, estimate_usd=planned.estimate_usd, now=now
        )
    job = await write_planned(session, planned, held_for=owner.owner_id if held else None, now=now)
    if before_commit is not None:
        await before_commit(job)
    await session.commit()
    observe_accepted(planned.model.id)
    with job_context(job.id):
        log.info(
            "job.accepted",
            model=planned.model.id,
            owner_id=owner.owner_id,
            deadline=job.deadline_seconds,
            start_deadline=job.start_deadline_seconds,
            routes=len(planned.model.routes),
        )
    return job


def ensure_available(catalog: Catalog, model: CatalogModel) -> None:
    """422 ``model_unavailable`` when none of the model's providers is configured here."""
    reason = catalog.unavailable_reason(model)
    if reason is not None:
        raise ProblemError(
            "model_unavailable",
            f"{model.id!r} cannot run on this deployment: {reason}; see GET /v1/models.",
            errors=[FieldError(path="model", message="model unavailable")],
        )


async def get_generation(*, session: AsyncSession, owner: Principal, job_id: str) -> JobWithOutputs:
    job = await owned_job(session, owner, job_id)
    outputs = await repository.outputs_of(session, [job.id])
    return JobWithOutputs(job=job, outputs=outputs[job.id])


async def list_generations(
    *,
    session: AsyncSession,
    owner: Principal,
    limit: int,
    cursor: str | None,
    filters: JobFilter,
) -> tuple[list[JobWithOutputs], str | None]:
    """One page of the owner's jobs matching ``filters``, newest first, and the next cursor.

    The cursor is a position in the ``(created_at, id)`` order, so it stays valid with any
    filter (pass the same filters with it to continue the same list).
    """
    try:
        after = decode_cursor(cursor) if cursor else None
        if after is not None and not is_job_id(after.job_id):
            raise InvalidCursorError(cursor)
    except InvalidCursorError as exc:
        raise ProblemError(
            "invalid_cursor", errors=[FieldError(path="query.cursor", message="invalid cursor")]
        ) from exc
    jobs = await repository.list_jobs(
        session, filters=filters.for_owner(owner.owner_id), limit=limit + 1, after=after
    )
    page, more = jobs[:limit], len(jobs) > limit
    outputs = await repository.outputs_of(session, [job.id for job in page])
    next_cursor = (
        encode_cursor(Cursor(created_at=page[-1].created_at, job_id=page[-1].id)) if more else None
    )
    return [JobWithOutputs(job=job, outputs=outputs[job.id]) for job in page], next_cursor


async def list_generation_events(
    *, session: AsyncSession, owner: Principal, job_id: str
) -> list[JobEvent]:
    job = await owned_job(session, owner, job_id)
    return await repository.list_events(session, job.id)


async def owned_job(session: AsyncSession, owner: Principal, job_id: str) -> Job:
    job = (
        await repository.get_job(session, owner_id=owner.owner_id, job_id=job_id)
        if is_job_id(job_id)
        else None
    )
    if job is None:
        raise ProblemError("not_found", "No such generation.")
    return job
