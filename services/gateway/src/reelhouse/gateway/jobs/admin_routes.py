"""``/v1/admin/generations/retry`` and ``/cancel``: act on every job a filter matches.

Admin operations act across owners (``owner`` narrows to one); they need a key with the
``admin`` scope (``AdminScope``).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from reelhouse.gateway.auth.dependencies import AdminScope
from reelhouse.gateway.dependencies import CatalogDep, RelayDep, SessionDep, SettingsDep
from reelhouse.gateway.jobs.bulk import BulkResult, bulk_cancel, bulk_retry
from reelhouse.gateway.jobs.bulk_schemas import BulkOutcome, BulkRequest, BulkResponse
from reelhouse.gateway.jobs.filters import JobFilter, build_filter
from reelhouse.gateway.problems import problem_responses
from reelhouse.gateway.query import reject_unknown_query

router = APIRouter(
    prefix="/v1/admin/generations",
    tags=["admin"],
    dependencies=[Depends(reject_unknown_query)],
)


AdminCaller = AdminScope


def _filter(body: BulkRequest) -> JobFilter:
    # admin acts across owners: ``owner`` None is every owner
    return build_filter(
        owner_id=body.owner,
        status=body.status,
        model=body.model,
        error_code=body.error_code,
        created_after=body.created_after,
        created_before=body.created_before,
        prefix="body",
    )


def _response(body: BulkRequest, limit: int, result: BulkResult) -> BulkResponse:
    return BulkResponse(
        dry_run=body.dry_run,
        matched=result.matched,
        limit=limit,
        job_ids=result.job_ids,
        results=[
            BulkOutcome(job_id=o.job_id, retry_id=o.retry_id, skipped=o.skipped)
            for o in result.outcomes
        ],
    )


_DESCRIBE_LIMIT = (
    " At most `limit` jobs per call (default and maximum REELHOUSE_RETRY__BULK_MAX_JOBS, "
    "100 unless configured), oldest first; call again for the rest. `dry_run: true` only "
    "counts (`matched`) and lists the first ids (`job_ids`)."
)


@router.post(
    "/retry",
    response_model=BulkResponse,
    summary="Retry every failed or canceled job a filter matches",
    description="Each matching `failed` or `canceled` job not retried yet is retried as by "
    "`POST /v1/generations/{id}/retry` (re-download or generate again)." + _DESCRIBE_LIMIT,
    responses=problem_responses("unauthorized", "insufficient_scope", "validation_error"),
)
async def bulk_retry_generations(
    body: BulkRequest,
    session: SessionDep,
    caller: AdminCaller,
    catalog: CatalogDep,
    settings: SettingsDep,
    relay: RelayDep,
) -> BulkResponse:
    limit = min(body.limit or settings.retry.bulk_max_jobs, settings.retry.bulk_max_jobs)
    result = await bulk_retry(
        session=session,
        catalog=catalog,
        filters=_filter(body),
        limit=limit,
        dry_run=body.dry_run,
        policy=settings.retry,
        costs=settings.costs,
    )
    if result.outcomes:
        relay.wake()
    return _response(body, limit, result)


@router.post(
    "/cancel",
    response_model=BulkResponse,
    summary="Cancel every job in progress a filter matches",
    description="Each matching job still in progress is canceled as by "
    "`POST /v1/generations/{id}/cancel`." + _DESCRIBE_LIMIT,
    responses=problem_responses("unauthorized", "insufficient_scope", "validation_error"),
)
async def bulk_cancel_generations(
    body: BulkRequest,
    session: SessionDep,
    caller: AdminCaller,
    settings: SettingsDep,
    relay: RelayDep,
) -> BulkResponse:
    limit = min(body.limit or settings.retry.bulk_max_jobs, settings.retry.bulk_max_jobs)
    result = await bulk_cancel(
        session=session, filters=_filter(body), limit=limit, dry_run=body.dry_run
    )
    if result.outcomes:
        relay.wake()
    return _response(body, limit, result)
