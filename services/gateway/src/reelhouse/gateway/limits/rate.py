"""The per-owner submit rate limit: a fixed-window counter in the database.

The count lives in the database (table ``submit_windows``), not in a process, so the limit
holds however many gateway processes share the load — they already share the database, and
an atomic upsert (``INSERT … ON CONFLICT DO UPDATE … RETURNING``) counts without races on
SQLite and PostgreSQL alike, with nothing else to run.
"""

from __future__ import annotations

import math
import time

import structlog
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.gateway.auth.dependencies import CurrentOwner
from reelhouse.gateway.db.models import SubmitWindow
from reelhouse.gateway.dependencies import SessionDep, SettingsDep
from reelhouse.gateway.problems import ProblemError

log = structlog.get_logger(__name__)


async def count_submit(session: AsyncSession, *, owner_id: str, window_start: int) -> int:
    """Add one submit to the owner's window; the window's count after it."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(SubmitWindow)
        .values(owner_id=owner_id, window_start=window_start, count=1)
        .on_conflict_do_update(
            index_elements=[SubmitWindow.owner_id, SubmitWindow.window_start],
            set_={"count": SubmitWindow.count + 1},
        )
        .returning(SubmitWindow.count)
    )
    count = (await session.execute(statement)).scalar_one()
    # the owner's earlier windows are over: forget them
    await session.execute(
        delete(SubmitWindow).where(
            SubmitWindow.owner_id == owner_id, SubmitWindow.window_start < window_start
        )
    )
    return int(count)


async def enforce_submit_rate(
    session: SessionDep, settings: SettingsDep, owner: CurrentOwner
) -> None:
    """``429 rate_limited`` (with ``Retry-After``) once the owner used up this window.

    The count is made in the request's own transaction, which the submit commits: a submit
    refused for any reason (this one included) is not counted, and on PostgreSQL concurrent
    submits of one owner queue on the counter row rather than both reading the old count.
    """
    limits = settings.limits
    limit = limits.submit_rate_for(owner.owner_id)
    if limit is None:
        return
    window = limits.rate_window_seconds
    now = time.time()
    window_start = int(now // window) * window
    count = await count_submit(session, owner_id=owner.owner_id, window_start=window_start)
    if count > limit:
        retry_after = max(1, math.ceil(window_start + window - now))
        log.info("limits.rate_limited", owner_id=owner.owner_id, limit=limit, window=window)
        raise ProblemError(
            "rate_limited",
            f"At most {limit} submits per {window} s for this owner; retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
        )
