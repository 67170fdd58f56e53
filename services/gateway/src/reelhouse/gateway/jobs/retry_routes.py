"""``POST /v1/generations/{id}/retry``: a new job with the same model and input (202)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from reelhouse.common.logging import job_context
from reelhouse.gateway.auth.dependencies import GenerateScope
from reelhouse.gateway.dependencies import (
    CatalogDep,
    MediaUrlsDep,
    RelayDep,
    SessionDep,
    SettingsDep,
)
from reelhouse.gateway.jobs.retry import retry_owned
from reelhouse.gateway.jobs.routes import links_for
from reelhouse.gateway.jobs.schemas import Generation
from reelhouse.gateway.jobs.service import JobWithOutputs
from reelhouse.gateway.jobs.views import generation_view
from reelhouse.gateway.problems import problem_responses

router = APIRouter(prefix="/v1/generations", tags=["generations"])


@router.post(
    "/{job_id}/retry",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Generation,
    summary="Retry a failed or canceled generation",
    description=(
        "Creates a NEW job with the same model and input and answers it (202, `Location` "
        "header); the new job's `retry_of` names this one, and this one's `retried_by` the "
        "new one. A job that failed while downloading, whose provider output is still fresh, "
        "is re-downloaded without generating again (the new job starts `downloading`; its "
        "attempt shows `redownload_of`); otherwise it is generated again. Only a `failed` or "
        "`canceled` job can be retried (409 `job_not_final` while in progress, "
        "`job_not_retryable` once succeeded), and only once (409 `already_retried`: retry "
        "the retry)."
    ),
    responses=problem_responses(
        "unauthorized",
        "insufficient_scope",
        "not_found",
        "job_not_final",
        "job_not_retryable",
        "already_retried",
        "unknown_model",
        "model_unavailable",
        "validation_error",
        "budget_exceeded",
    ),
)
async def retry_generation(
    job_id: str,
    request: Request,
    response: Response,
    session: SessionDep,
    owner: GenerateScope,
    catalog: CatalogDep,
    settings: SettingsDep,
    media_urls: MediaUrlsDep,
    relay: RelayDep,
) -> Generation:
    with job_context(job_id):
        job = await retry_owned(
            session=session,
            catalog=catalog,
            owner_id=owner.owner_id,
            job_id=job_id,
            policy=settings.retry,
            costs=settings.costs,
        )
    relay.wake()
    view = generation_view(
        JobWithOutputs(job=job, outputs=[]), media_urls=media_urls, links=links_for(request)
    )
    response.headers["Location"] = view.links.self_
    return view
