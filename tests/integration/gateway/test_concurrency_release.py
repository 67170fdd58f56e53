"""The concurrency limit's hold and release, step by step, through the real relay and projector.

(``tests/e2e/test_concurrency_limit.py`` runs it with real jobs over ``make run``.)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from sqlalchemy import select

from reelhouse.common.events import Event
from reelhouse.gateway.db.models import OutboxMessage
from reelhouse.gateway.limits.settings import LimitSettings, OwnerLimits
from reelhouse.gateway.settings import Settings
from tests.integration.gateway.harness import Gateway, eventually, running_gateway
from tests.integration.gateway.job_events import canceled

Publish = Callable[[Event], Awaitable[None]]


@pytest.fixture
async def limited(settings: Settings) -> AsyncIterator[Gateway]:
    limits = LimitSettings(max_active_jobs=5, owners={"dev": OwnerLimits(max_active_jobs=1)})
    async with running_gateway(settings.model_copy(update={"limits": limits})) as running:
        yield running


async def _rows(gateway: Gateway) -> dict[str, tuple[str | None, bool]]:
    """job id → (held_for, published) of each gen.requested row."""
    async with gateway.sessions() as session:
        rows = (
            await session.execute(
                select(OutboxMessage).where(OutboxMessage.subject == "gen.requested.v1")
            )
        ).scalars()
        return {r.job_id: (r.held_for, r.published_at is not None) for r in rows}


async def test_jobs_past_the_limit_are_held_then_released_in_order(
    limited: Gateway, publish: Publish
) -> None:
    jobs = [(await limited.submit(f"job {n}"))["id"] for n in range(3)]

    async def first_published() -> dict[str, tuple[str | None, bool]] | None:
        rows = await _rows(limited)
        return rows if rows[jobs[0]] == (None, True) else None

    rows = await eventually(first_published, what="the first job to be published")
    assert rows[jobs[1]] == ("dev", False)
    assert rows[jobs[2]] == ("dev", False)
    assert [(await limited.job(j))["status"] for j in jobs] == ["queued"] * 3

    # the first finishes: the second (the oldest waiting), and only it, is released
    await publish(canceled(jobs[0]))

    async def second_published() -> dict[str, tuple[str | None, bool]] | None:
        rows = await _rows(limited)
        return rows if rows[jobs[1]] == (None, True) else None

    rows = await eventually(second_published, what="the second job to be released")
    assert rows[jobs[2]] == ("dev", False)


async def test_a_held_job_that_finished_takes_no_room(limited: Gateway, publish: Publish) -> None:
    jobs = [(await limited.submit(f"job {n}"))["id"] for n in range(3)]
    await limited.wait_for_status(jobs[0], "queued")

    # the third is canceled while it waits (the dispatcher cancels what it never started)
    await publish(canceled(jobs[2]))
    await limited.wait_for_status(jobs[2], "canceled")

    async def third_released() -> dict[str, tuple[str | None, bool]] | None:
        rows = await _rows(limited)
        return rows if rows[jobs[2]][0] is None else None

    rows = await eventually(third_released, what="the canceled job's row to go")
    # the first still works, so the second still waits
    assert rows[jobs[1]] == ("dev", False)


async def test_other_owners_are_not_held(limited: Gateway) -> None:
    other = await limited.new_key("other")
    response = await limited.client.post(
        "/v1/generations",
        json={"model": "sandbox/text-to-video", "input": {"prompt": "x"}},
        headers=limited.auth(other),
    )
    assert response.status_code == 202
    job_id = response.json()["id"]

    async def published() -> bool | None:
        return True if (await _rows(limited))[job_id] == (None, True) else None

    await eventually(published, what="the other owner's job to be published")
