"""``/v1/generations``: submit (202 at once), read one, list newest first, a job's events, cancel."""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Query, Request, Response, status

from reelhouse.common.logging import job_context
from reelhouse.gateway.auth.dependencies import CurrentOwner
from reelhouse.gateway.dependencies import (
    CatalogDep,
    MediaUrlsDep,
    RelayDep,
    SessionDep,
    SettingsDep,
)
from reelhouse.gateway.jobs import cancel, service
from reelhouse.gateway.jobs.deadlines import DeadlineLimits
from reelhouse.gateway.jobs.schemas import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Generation,
    GenerationCreate,
    GenerationEventList,
    GenerationLinks,
    GenerationPage,
)
from reelhouse.gateway.jobs.service import JobWithOutputs
from reelhouse.gateway.jobs.views import LinksFor, event_view, generation_view
from reelhouse.gateway.limits.rate import enforce_submit_rate
from reelhouse.gateway.problems import problem_responses

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/v1/generations", tags=["generations"])


def links_for(request: Request) -> LinksFor:
    def links(job_id: str) -> GenerationLinks:
        return GenerationLinks.model_validate(
            {
                "self": str(request.url_for("get_generation", job_id=job_id)),
                "events": str(request.url_for("list_generation_events", job_id=job_id)),
                "cancel": str(request.url_for("cancel_generation", job_id=job_id)),
            }
        )

    return links


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Generation,
    summary="Ask for a generation",
    description=(
        "Accepts the job at once (202) and works on it behind the broker. Poll the job "
        "(`links.self`) until `status` is `succeeded`, `failed` or `canceled`."
    ),
    responses=problem_responses(
        "unauthorized", "validation_error", "unknown_model", "rate_limited"
    ),
    dependencies=[Depends(enforce_submit_rate)],
)
async def create_generation(
    body: GenerationCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    owner: CurrentOwner,
    catalog: CatalogDep,
    settings: SettingsDep,
    media_urls: MediaUrlsDep,
    relay: RelayDep,
) -> Generation:
    job = await service.submit_generation(
        session=session,
        catalog=catalog,
        owner=owner,
        request=body,
        deadlines=DeadlineLimits(
            default_seconds=settings.default_deadline_seconds,
            max_seconds=settings.max_deadline_seconds,
            default_start_seconds=settings.default_start_deadline_seconds,
        ),
        held=settings.limits.max_active_jobs_for(owner.owner_id) is not None,
    )
    relay.wake()
    view = generation_view(
        JobWithOutputs(job=job, outputs=[]), media_urls=media_urls, links=links_for(request)
    )
    response.headers["Location"] = view.links.self_
    return view


@router.get(
    "/{job_id}",
    response_model=Generation,
    summary="Read one generation",
    responses=problem_responses("unauthorized", "not_found", "validation_error"),
)
async def get_generation(
    job_id: str,
    request: Request,
    session: SessionDep,
    owner: CurrentOwner,
    media_urls: MediaUrlsDep,
) -> Generation:
    with job_context(job_id):
        item = await service.get_generation(session=session, owner=owner, job_id=job_id)
        return generation_view(item, media_urls=media_urls, links=links_for(request))


@router.get(
    "",
    response_model=GenerationPage,
    summary="List generations, newest first",
    responses=problem_responses("unauthorized", "validation_error", "invalid_cursor"),
)
async def list_generations(
    request: Request,
    session: SessionDep,
    owner: CurrentOwner,
    media_urls: MediaUrlsDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> GenerationPage:
    items, next_cursor = await service.list_generations(
        session=session, owner=owner, limit=limit, cursor=cursor
    )
    links = links_for(request)
    return GenerationPage(
        data=[generation_view(item, media_urls=media_urls, links=links) for item in items],
        next_cursor=next_cursor,
    )


@router.get(
    "/{job_id}/events",
    response_model=GenerationEventList,
    summary="A generation's event history, oldest first",
    responses=problem_responses("unauthorized", "not_found", "validation_error"),
)
async def list_generation_events(
    job_id: str, session: SessionDep, owner: CurrentOwner
) -> GenerationEventList:
    with job_context(job_id):
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
    responses=problem_responses("unauthorized", "not_found", "job_final", "validation_error"),
)
async def cancel_generation(
    job_id: str,
    request: Request,
    session: SessionDep,
    owner: CurrentOwner,
    media_urls: MediaUrlsDep,
    relay: RelayDep,
) -> Generation:
    with job_context(job_id):
        item = await cancel.request_cancel(session=session, owner=owner, job_id=job_id)
        relay.wake()
        return generation_view(item, media_urls=media_urls, links=links_for(request))
