"""``GET /v1/usage``: the key's owner's jobs and their cost per day or per model."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from reelhouse.common.events import utcnow
from reelhouse.gateway.auth.dependencies import ReadScope
from reelhouse.gateway.costs import ledger
from reelhouse.gateway.costs.schemas import UsageByDay, UsageByModel, UsageReport
from reelhouse.gateway.dependencies import SessionDep
from reelhouse.gateway.problems import FieldError, ProblemError, problem_responses
from reelhouse.gateway.query import reject_unknown_query

# the longest range one call may cover, in days (both ends included)
MAX_RANGE_DAYS = 366

router = APIRouter(prefix="/v1/usage", tags=["usage"])


def _range(first: date | None, last: date | None, today: date) -> tuple[date, date]:
    """The days asked for (default: this month so far); 422 when backwards or too long."""
    first = first or today.replace(day=1)
    last = last or max(today, first)
    if last < first:
        raise ProblemError(
            "validation_error",
            "`to` is before `from`.",
            errors=[FieldError(path="query.to", message="before from")],
        )
    if (last - first).days + 1 > MAX_RANGE_DAYS:
        raise ProblemError(
            "validation_error",
            f"The range covers more than {MAX_RANGE_DAYS} days; ask for less.",
            errors=[FieldError(path="query.to", message=f"more than {MAX_RANGE_DAYS} days")],
        )
    return first, last


@router.get(
    "",
    response_model=UsageReport,
    summary="Jobs and their cost per day or per model",
    description=(
        "The caller's jobs created from `from` to `to` (UTC days, both included; default: "
        "this calendar month so far; at most 366 days), grouped by the day they were created "
        "(`group_by=day`, the default) or by model (`group_by=model`). Money sums only known "
        "costs and is `null` when none is known; `unknown_cost_jobs` counts the jobs whose "
        "cost is not known. `owner` (keys with the `admin` scope only, else 403) reports on "
        "another owner. An unknown query parameter is a 422."
    ),
    responses=problem_responses("unauthorized", "insufficient_scope", "validation_error"),
    dependencies=[Depends(reject_unknown_query)],
)
async def get_usage(
    session: SessionDep,
    caller: ReadScope,
    from_: Annotated[
        date | None, Query(alias="from", description="First day, `YYYY-MM-DD` (UTC)")
    ] = None,
    to: Annotated[date | None, Query(description="Last day, included, `YYYY-MM-DD` (UTC)")] = None,
    group_by: Annotated[
        Literal["day", "model"], Query(description="`day` (default) or `model`")
    ] = "day",
    owner: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            description="Whose usage (admin keys only); default: the key's own owner",
        ),
    ] = None,
) -> UsageReport:
    if owner is not None and not caller.may("admin"):
        raise ProblemError(
            "insufficient_scope",
            "Only a key with the 'admin' scope may ask about another owner (`owner`).",
        )
    first, last = _range(from_, to, utcnow().date())
    lines = await ledger.usage(
        session,
        owner_id=owner or caller.owner_id,
        first_day=first.isoformat(),
        last_day=last.isoformat(),
        group_by=group_by,
    )
    totals = [
        {
            "jobs": line.jobs,
            "video_seconds": line.video_seconds,
            "images": line.images,
            "estimated_usd": line.estimated_usd,
            "actual_usd": line.actual_usd,
            "unknown_cost_jobs": line.unknown_cost_jobs,
        }
        for line in lines
    ]
    if group_by == "day":
        return UsageReport(
            data=[UsageByDay(day=line.key, **t) for line, t in zip(lines, totals, strict=True)]
        )
    return UsageReport(
        data=[UsageByModel(model=line.key, **t) for line, t in zip(lines, totals, strict=True)]
    )
