"""``/v1/compositions``: ask for a film (202 at once), read one, list, live events, cancel, retry."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from reelhouse.common.logging import job_context
from reelhouse.gateway.auth.dependencies import GenerateScope, ReadScope
from reelhouse.gateway.compositions import service
from reelhouse.gateway.compositions.ids import CompositionStatus
from reelhouse.gateway.compositions.live import composition_stream
from reelhouse.gateway.compositions.schemas import (
    Composition,
    CompositionCreate,
    CompositionPage,
)
from reelhouse.gateway.compositions.service import CompositionWithParts
from reelhouse.gateway.compositions.submit import BeforeCommit, submit_composition
from reelhouse.gateway.compositions.views import (
    CompositionLinksFor,
    composition_links_under,
    composition_view,
)
from reelhouse.gateway.db.models import Composition as CompositionRow
from reelhouse.gateway.dependencies import (
    CatalogDep,
    MediaUrlsDep,
    RelayDep,
    ServicesDep,
    SessionDep,
    SettingsDep,
)
from reelhouse.gateway.idempotency import service as idempotency
from reelhouse.gateway.jobs.deadlines import DeadlineLimits
from reelhouse.gateway.jobs.routes import SUBMIT_RESPONSES
from reelhouse.gateway.jobs.schemas import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from reelhouse.gateway.limits.rate import enforce_submit_rate
from reelhouse.gateway.live import routes as live
from reelhouse.gateway.live.sse import wants_event_stream
from reelhouse.gateway.problems import ProblemError, problem_responses
from reelhouse.gateway.query import reject_unknown_query
from reelhouse.gateway.webhooks.recorder import DeliveryRecorder
from reelhouse.gateway.webhooks.subscription import subscription_of

router = APIRouter(prefix="/v1/compositions", tags=["compositions"])


def get_webhook_recorder(services: ServicesDep) -> DeliveryRecorder:
    return services.webhook_recorder


WebhookRecorderDep = Annotated[DeliveryRecorder, Depends(get_webhook_recorder)]


def links_for(request: Request) -> CompositionLinksFor:
    return composition_links_under(str(request.base_url))


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Composition,
    summary="Ask for a composition: several scenes, one film",
    description=(
        "Accepts at once (202). Every scene (and a generated score) becomes an ordinary "
        "generation job (`scenes[].job_id`), generated in parallel; once they settle the "
        "assembler joins the scenes in order — without re-encoding when their streams match, "
        "else scaled and padded to the output size and rate — with cuts or crossfades and one "
        "audio track under the whole film, faded in and out. `status`: `generating`, "
        "`assembling`, then `succeeded` (the film in `outputs`), `failed` or `canceled`.\n\n"
        "`policy`: `fail_fast` (default) fails the composition with the first failed part's "
        "reason and cancels the rest; `best_effort` assembles the scenes that succeeded and "
        "lists the others in `missing_scenes`. `Idempotency-Key` works as for a generation."
    ),
    responses=SUBMIT_RESPONSES,
    dependencies=[Depends(enforce_submit_rate)],
)
async def create_composition(
    body: CompositionCreate,
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
            description="As for `POST /v1/generations`: a repeat with the same body gets the "
            "same composition",
        ),
    ] = None,
) -> Composition:
    async def submit(before_commit: BeforeCommit | None) -> CompositionRow:
        return await submit_composition(
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
        try:
            item = await service.get_composition(
                session=session, owner=owner, composition_id=submitted.job_id
            )
        except ProblemError as exc:  # the key was used for a generation
            raise ProblemError(
                "idempotency_key_reused",
                "This Idempotency-Key was already used for another request; use a new key.",
            ) from exc
        response.headers["Idempotent-Replayed"] = "true"
    else:
        assert submitted.job is not None
        item = await service.with_parts(session, submitted.job)
        relay.wake()
    response.status_code = submitted.status_code
    view = composition_view(
        item.composition, item.parts, media_urls=media_urls, links=links_for(request)
    )
    response.headers["Location"] = view.links.self_
    return view


def _view(item: CompositionWithParts, request: Request, media_urls: MediaUrlsDep) -> Composition:
    return composition_view(
        item.composition, item.parts, media_urls=media_urls, links=links_for(request)
    )


@router.get(
    "/{composition_id}",
    response_model=Composition,
    summary="Read one composition",
    responses=problem_responses(
        "unauthorized", "insufficient_scope", "not_found", "validation_error"
    ),
)
async def get_composition(
    composition_id: str,
    request: Request,
    session: SessionDep,
    owner: ReadScope,
    media_urls: MediaUrlsDep,
) -> Composition:
    with job_context(composition_id):
        item = await service.get_composition(
            session=session, owner=owner, composition_id=composition_id
        )
        return _view(item, request, media_urls)


@router.get(
    "",
    response_model=CompositionPage,
    summary="List compositions, newest first",
    description="`status` filters (repeatable); `next_cursor` continues the same list.",
    responses=problem_responses(
        "unauthorized", "insufficient_scope", "validation_error", "invalid_cursor"
    ),
    dependencies=[Depends(reject_unknown_query)],
)
async def list_compositions(
    request: Request,
    session: SessionDep,
    owner: ReadScope,
    media_urls: MediaUrlsDep,
    status_: Annotated[
        list[CompositionStatus] | None,
        Query(alias="status", description="Only these statuses (repeat the parameter)"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> CompositionPage:
    items, next_cursor = await service.list_compositions(
        session=session,
        owner=owner,
        statuses=[s.value for s in status_ or []],
        limit=limit,
        cursor=cursor,
    )
    return CompositionPage(
        data=[_view(item, request, media_urls) for item in items], next_cursor=next_cursor
    )


@router.get(
    "/{composition_id}/events",
    response_model=Composition,
    summary="The composition, live (server-sent events)",
    description=(
        "With `Accept: text/event-stream`: an `event: composition` with the whole composition "
        "(as `GET` shows it) now and after every change of it or of one of its parts; closes "
        "after `succeeded`, `failed` or `canceled`. Reconnecting starts from the current state. "
        "Without it: the composition as JSON, as `GET /v1/compositions/{id}`."
    ),
    responses={
        **live.EVENT_STREAM_RESPONSE,
        **problem_responses("not_found", "validation_error", *live.STREAM_PROBLEMS),
    },
)
async def composition_events(
    composition_id: str,
    request: Request,
    session: SessionDep,
    owner: ReadScope,
    services: ServicesDep,
    media_urls: MediaUrlsDep,
) -> Composition | Response:
    with job_context(composition_id):
        item = await service.get_composition(
            session=session, owner=owner, composition_id=composition_id
        )
        if not wants_event_stream(request.headers.get("accept")):
            return _view(item, request, media_urls)
        await session.close()
        listener = live.open_listener(services.hub, services.settings.sse, owner, None)
        return live.EventStreamResponse(
            composition_stream(
                sessions=services.sessions,
                listener=listener,
                settings=services.settings.sse,
                owner_id=owner.owner_id,
                composition_id=item.composition.id,
                media_urls=media_urls,
                links=links_for(request),
            ),
            listener=listener,
        )


@router.post(
    "/{composition_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Composition,
    summary="Cancel a composition and every scene still running",
    description=(
        "The composition turns `canceled` at once and each of its parts still running is "
        "asked to cancel (they turn `canceled` as their providers confirm). Repeating it "
        "changes nothing. One that is being assembled or has finished is a 409 "
        "`composition_final`."
    ),
    responses=problem_responses(
        "unauthorized", "insufficient_scope", "not_found", "composition_final", "validation_error"
    ),
)
async def cancel_composition(
    composition_id: str,
    request: Request,
    session: SessionDep,
    owner: GenerateScope,
    media_urls: MediaUrlsDep,
    relay: RelayDep,
    webhooks: WebhookRecorderDep,
) -> Composition:
    with job_context(composition_id):
        item = await service.cancel_composition(
            session=session, owner=owner, composition_id=composition_id, webhooks=webhooks
        )
        relay.wake()
        return _view(item, request, media_urls)


@router.post(
    "/{composition_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Composition,
    summary="Generate a composition's failed scenes again, then assemble anew",
    description=(
        "Only the parts that failed or were canceled get new jobs (the old ones are listed in "
        "each scene's `retries`); scenes that succeeded are kept. A composition whose parts "
        "all succeeded but whose assembly failed is assembled again. Allowed on a `failed` or "
        "`canceled` composition, or a `succeeded` one with `missing_scenes`; otherwise 409 "
        "`composition_not_retryable`."
    ),
    responses=problem_responses(
        "unauthorized",
        "insufficient_scope",
        "not_found",
        "composition_not_retryable",
        "unknown_model",
        "model_unavailable",
        "validation_error",
        "budget_exceeded",
    ),
)
async def retry_composition(
    composition_id: str,
    request: Request,
    session: SessionDep,
    owner: GenerateScope,
    catalog: CatalogDep,
    settings: SettingsDep,
    media_urls: MediaUrlsDep,
    relay: RelayDep,
    webhooks: WebhookRecorderDep,
) -> Composition:
    with job_context(composition_id):
        item = await service.retry_composition(
            session=session,
            catalog=catalog,
            owner=owner,
            composition_id=composition_id,
            policy=settings.retry,
            costs=settings.costs,
            webhooks=webhooks,
        )
        relay.wake()
        return _view(item, request, media_urls)
