"""``/v1/generations``: submit (202 at once), read one, list newest first, a job's events, cancel."""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from reelhouse.common.logging import job_context
from reelhouse.gateway.auth.dependencies import GenerateScope, ReadScope
from reelhouse.gateway.db.models import Job
from reelhouse.gateway.dependencies import (
    CatalogDep,
    MediaUrlsDep,
    RelayDep,
    ServicesDep,
    SessionDep,
    SettingsDep,
)
from reelhouse.gateway.idempotency import service as idempotency
from reelhouse.gateway.idempotency.service import BeforeCommit
from reelhouse.gateway.jobs import cancel, service
from reelhouse.gateway.jobs.deadlines import DeadlineLimits
from reelhouse.gateway.jobs.filters import JobFilter, list_filter
from reelhouse.gateway.jobs.schemas import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Generation,
    GenerationCreate,
    GenerationEventList,
    GenerationPage,
)
from reelhouse.gateway.jobs.service import JobWithOutputs
from reelhouse.gateway.jobs.views import LinksFor, event_view, generation_view, links_under
from reelhouse.gateway.limits.rate import enforce_submit_rate
from reelhouse.gateway.live import routes as live
from reelhouse.gateway.live.sse import wants_event_stream
from reelhouse.gateway.problems import problem_responses
from reelhouse.gateway.query import reject_unknown_query
from reelhouse.gateway.webhooks.subscription import subscription_of

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1/generations", tags=["generations"])


# what a submit may answer (a generation's, a composition's): its problems, and the replay header
SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **problem_responses(
        "unauthorized",
        "insufficient_scope",
        "validation_error",
        "unknown_model",
        "model_unavailable",
        "invalid_webhook_url",
        "invalid_webhook_events",
        "idempotency_key_invalid",
        "idempotency_key_reused",
        "idempotency_key_in_flight",
        "rate_limited",
        "budget_exceeded",
    ),
    status.HTTP_202_ACCEPTED: {
        "headers": {
            "Idempotent-Replayed": {
                "description": "`true` when this answers a repeated Idempotency-Key",
                "schema": {"type": "string", "enum": ["true"]},
            }
        }
    },
}


def links_for(request: Request) -> LinksFor:
    return links_under(str(request.base_url))


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Generation,
    summary="Ask for a generation",
    description=(
        "Accepts the job at once (202) and works on it behind the broker. Poll the job "
        "(`links.self`) until `status` is `succeeded`, `failed` or `canceled`.\n\n"
        "With an `Idempotency-Key` header, repeating the request (same key, same body) makes "
        "no second job: it answers with the same job and status code and the header "
        "`Idempotent-Replayed: true`. The same key with another body is 422 "
        "`idempotency_key_reused`; while the first request is still being processed, 409 "
        "`idempotency_key_in_flight`. Keys belong to the key's owner and are kept 24 h; a "
        "request that is refused (4xx) does not use up its key."
    ),
    responses=SUBMIT_RESPONSES,
    dependencies=[Depends(enforce_submit_rate)],
)
async def create_generation(
    body: GenerationCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    owner: GenerateScope,
    catalog: CatalogDep,
    settings: SettingsDep,
    media_urls: MediaUrlsDep,
    relay: RelayDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="1 to 255 printable ASCII characters, unique per request you mean once "
            "(a UUID); a repeat with the same body gets the same job",
        ),
    ] = None,
) -> Generation:
    async def submit(before_commit: BeforeCommit | None) -> Job:
        return await service.submit_generation(
            session=session,
            catalog=catalog,
            owner=owner,
            request=body,
            deadlines=DeadlineLimits.of(settings),
            before_commit=before_commit,
            webhook=subscription_of(body, settings.webhooks),
            held=settings.limits.max_active_jobs_for(owner.owner_id) is not None,
            costs=settings.costs,
        )

    submitted = await idempotency.submit_once(
        session=session,
        owner=owner,
        header=idempotency_key,
        body=await request.body(),
        settings=settings.idempotency,
        submit=submit,
    )
    if submitted.replayed:
        item = await service.get_generation(session=session, owner=owner, job_id=submitted.job_id)
        response.headers["Idempotent-Replayed"] = "true"
    else:
        assert submitted.job is not None
        item = JobWithOutputs(job=submitted.job, outputs=[])
        relay.wake()
    response.status_code = submitted.status_code
    view = generation_view(item, media_urls=media_urls, links=links_for(request))
    response.headers["Location"] = view.links.self_
    return view


@router.get(
    "/{job_id}",
    response_model=Generation,
    summary="Read one generation",
    responses=problem_responses(
        "unauthorized", "insufficient_scope", "not_found", "validation_error"
    ),
)
async def get_generation(
    job_id: str,
    request: Request,
    session: SessionDep,
    owner: ReadScope,
    media_urls: MediaUrlsDep,
) -> Generation:
    with job_context(job_id):
        item = await service.get_generation(session=session, owner=owner, job_id=job_id)
        return generation_view(item, media_urls=media_urls, links=links_for(request))


@router.get(
    "",
    response_model=GenerationPage,
    summary="List generations, newest first",
    description=(
        "Filters: `status`, `model`, `error_code` (each repeatable or comma-separated), "
        "`created_after` (inclusive) and `created_before` (exclusive), RFC 3339 with a zone. "
        "`next_cursor` continues the same filtered list. An unknown query parameter is a 422."
    ),
    responses=problem_responses(
        "unauthorized", "insufficient_scope", "validation_error", "invalid_cursor"
    ),
    dependencies=[Depends(reject_unknown_query)],
)
async def list_generations(
    request: Request,
    session: SessionDep,
    owner: ReadScope,
    media_urls: MediaUrlsDep,
    filters: Annotated[JobFilter, Depends(list_filter)],
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> GenerationPage:
    items, next_cursor = await service.list_generations(
        session=session, owner=owner, limit=limit, cursor=cursor, filters=filters
    )
    links = links_for(request)
    return GenerationPage(
        data=[generation_view(item, media_urls=media_urls, links=links) for item in items],
        next_cursor=next_cursor,
    )


@router.get(
    "/{job_id}/events",
    response_model=GenerationEventList,
    summary="A generation's event history, oldest first (or live, as server-sent events)",
    description=(
        "JSON by default. With `Accept: text/event-stream`: the recorded events, then every "
        "new one as it happens, closing after the final state (`succeeded`, `failed`, "
        "`canceled`); `Last-Event-ID` resumes right after that event."
    ),
    responses={
        **live.EVENT_STREAM_RESPONSE,
        **live.RESUMED_AFTER_FINAL,
        **problem_responses("not_found", "validation_error", *live.STREAM_PROBLEMS),
    },
)
async def list_generation_events(
    job_id: str,
    request: Request,
    session: SessionDep,
    owner: ReadScope,
    services: ServicesDep,
    last_event_id_header: live.LastEventIdHeader = None,
    last_event_id: live.LastEventIdQuery = None,
) -> GenerationEventList | Response:
    with job_context(job_id):
        if wants_event_stream(request.headers.get("accept")):
            return await live.open_job_stream(
                session=session,
                sessions=services.sessions,
                hub=services.hub,
                settings=services.settings.sse,
                owner=owner,
                job_id=job_id,
                last_event_id=live.resume_id(last_event_id_header, last_event_id),
            )
        events = await service.list_generation_events(session=session, owner=owner, job_id=job_id)
        return GenerationEventList(data=[event_view(event) for event in events])


@router.post(
    "/{job_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Generation,
    summary="Cancel a generation",
    description=(
        "Asks for the job to be canceled and returns it at once with `cancel_requested: true`; "
        "`status` stays what it is until the provider confirms (`canceled`) or finishes first "
        "(`succeeded` or `failed` — never both). Repeating the request changes nothing. "
        "A job that already succeeded or failed answers 409 (code `job_final`)."
    ),
    responses=problem_responses(
        "unauthorized", "insufficient_scope", "not_found", "job_final", "validation_error"
    ),
)
async def cancel_generation(
    job_id: str,
    request: Request,
    session: SessionDep,
    owner: GenerateScope,
    media_urls: MediaUrlsDep,
    relay: RelayDep,
) -> Generation:
    with job_context(job_id):
        item = await cancel.request_cancel(session=session, owner=owner, job_id=job_id)
        relay.wake()
        return generation_view(item, media_urls=media_urls, links=links_for(request))
