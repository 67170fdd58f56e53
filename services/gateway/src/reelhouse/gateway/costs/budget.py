"""The per-owner monthly budget, checked before a job is written (submit and retry).

The month's spend is what the owner's jobs created this calendar month (UTC) cost: the
actual cost where known, else the estimate; an unknown cost counts as 0. A submit is
refused (402 ``budget_exceeded``, nothing written) when its estimate plus that spend
exceeds the budget, or, with an unknown estimate, once the spend has reached it.

On PostgreSQL the check holds a per-owner transaction lock (``pg_advisory_xact_lock``)
until the job is committed, so an owner's concurrent submits are checked one after the
other and cannot overshoot together. SQLite (the single-process development mode) takes no
such lock: two submits at the same moment may both pass and overshoot by their estimates.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.gateway.costs import ledger
from reelhouse.gateway.costs.settings import CostSettings
from reelhouse.gateway.problems import ProblemError

log = structlog.get_logger(__name__)


def month_start(now: datetime) -> str:
    """The first day of ``now``'s month, as ``created_day`` holds days."""
    return now.strftime("%Y-%m-01")


def _lock_id(owner_id: str) -> int:
    """A signed 64-bit advisory lock id for the owner's budget (apart from other locks)."""
    digest = hashlib.sha256(f"reelhouse-budget:{owner_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def _serialise(session: AsyncSession, owner_id: str) -> None:
    """Hold the owner's budget lock until the transaction ends (PostgreSQL only)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _lock_id(owner_id)})


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
    await _serialise(session, owner_id)
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
