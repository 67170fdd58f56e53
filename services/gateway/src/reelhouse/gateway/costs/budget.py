"""The per-owner monthly budget, checked before a job is written (submit and retry).

The month's spend is what the owner's jobs created this calendar month (UTC) cost: the
actual cost where known, else the estimate; an unknown cost counts as 0. A submit is
refused (402 ``budget_exceeded``, nothing written) when its estimate plus that spend
exceeds the budget, or, with an unknown estimate, once the spend has reached it.

Not serialised: two submits racing each other may both pass the check and together go
past the budget by at most their own estimates (the check reads committed jobs only).
"""

from __future__ import annotations

from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.gateway.costs import ledger
from reelhouse.gateway.costs.settings import CostSettings
from reelhouse.gateway.problems import ProblemError

log = structlog.get_logger(__name__)


def month_start(now: datetime) -> str:
    """The first day of ``now``'s month, as ``created_day`` holds days."""
    return now.strftime("%Y-%m-01")


async def ensure_within_budget(
    session: AsyncSession,
    settings: CostSettings,
    *,
    owner_id: str,
    estimate_usd: float | None,
    now: datetime,
) -> None:
    """402 ``budget_exceeded`` when the job would take the owner past their budget."""
    budget = settings.budget_for(owner_id)
    if budget is None:
        return
    spent = await ledger.spend_since(session, owner_id=owner_id, first_day=month_start(now))
    over = spent >= budget if estimate_usd is None else spent + estimate_usd > budget
    if not over:
        return
    log.info("costs.budget_exceeded", owner_id=owner_id, budget=budget, spent=spent)
    cost = "an unknown cost" if estimate_usd is None else f"an estimated {estimate_usd:.4f} USD"
    raise ProblemError(
        "budget_exceeded",
        f"The monthly budget is {budget:.2f} USD and {spent:.4f} USD is spent this month; "
        f"this generation ({cost}) would exceed it.",
    )
