"""Costs through the real projector: estimate at submit, actual from what providers report,
kept on failure and cancel, usage by day and model, and the monthly budget (402)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select, update

from reelhouse.common.events import (
    Asset,
    Event,
    GenerationFailed,
    GenerationOutputReady,
    GenerationStored,
    JobError,
    OutputFile,
    ProviderUsage,
    utcnow,
)
from reelhouse.gateway.costs.settings import CostSettings
from reelhouse.gateway.db.models import Job, WebhookDelivery
from reelhouse.gateway.settings import Settings
from tests.integration.gateway.harness import Gateway, running_gateway, wait_until_projected
from tests.integration.gateway.job_events import attempt_failed, canceled, submitted
from tests.support.nats import NatsServer

Publish = Callable[[Event], Awaitable[None]]
VIDEO = "sandbox/text-to-video"  # 0.01 USD per second of output (simulated)
IMAGE = "sandbox/text-to-image"  # 0.002 USD per image (simulated)
COMPUTE = "sandbox/text-to-video-fallback"  # 0.001 USD per compute second, typically 5 s
UNPRICED = "minimax/video-01"  # the provider's price is not in the catalogue
MODEL_ERROR = JobError(stage="provider", code="provider_model_error", message="boom")


def _output(job_id: str, usage: ProviderUsage | None, request_id: str = "pred-1") -> Event:
    return GenerationOutputReady(
        event_id=f"{job_id}:output",
        job_id=job_id,
        provider="sandbox",
        provider_request_id=request_id,
        outputs=[OutputFile(index=0, url="http://provider.test/out.mp4")],
        usage=usage,
    )


def _stored(job_id: str, *, seconds: float | None = None, images: int = 0) -> Event:
    assets = [
        Asset(
            index=i,
            key=f"outputs/{job_id}/{i}",
            content_type="image/png" if images else "video/mp4",
            size=100,
            sha256="ab" * 32,
            kind="image" if images else "video",
            duration=seconds,
        )
        for i in range(max(images, 1))
    ]
    return GenerationStored(event_id=f"{job_id}:stored", job_id=job_id, assets=assets)


def _failed(job_id: str, usage: ProviderUsage | None = None) -> Event:
    return GenerationFailed(
        event_id=f"{job_id}:failed", job_id=job_id, error=MODEL_ERROR, usage=usage
    )


async def _succeed(
    gateway: Gateway, publish: Publish, job_id: str, *, usage: ProviderUsage | None, stored: Event
) -> dict[str, Any]:
    for event in (submitted(job_id), _output(job_id, usage), stored):
        await publish(event)
    return await gateway.wait_for_status(job_id, "succeeded")


async def test_a_job_is_estimated_at_submit_and_costed_once_it_succeeded(
    gateway: Gateway, publish: Publish
) -> None:
    video = await gateway.submit_to(
        VIDEO,
        {"prompt": "a fox", "duration": 4},
        webhook_url="https://hooks.example.com/costs",
        webhook_events=["succeeded"],
    )
    assert video["cost"] == {
        "estimate_usd": 0.04,
        "actual_usd": None,
        "basis": "second",
        "unit_usd": 0.01,
        "simulated": True,
    }
    done = await _succeed(
        gateway,
        publish,
        video["id"],
        usage=ProviderUsage(predict_time_seconds=1.5),
        stored=_stored(video["id"], seconds=4.2),
    )
    # per second of output: the stored video's length
    assert done["cost"]["actual_usd"] == 0.042
    # the webhook body is the job as GET shows it, cost included
    async with gateway.sessions() as session:
        [payload] = (
            await session.execute(
                select(WebhookDelivery.payload).where(WebhookDelivery.job_id == video["id"])
            )
        ).scalars()
    assert json.loads(payload)["data"]["cost"] == done["cost"]

    compute = await gateway.submit_to(COMPUTE, {"prompt": "a fox"})
    assert (compute["cost"]["basis"], compute["cost"]["estimate_usd"]) == (
        "prediction_second",
        0.005,
    )
    done = await _succeed(
        gateway,
        publish,
        compute["id"],
        usage=ProviderUsage(predict_time_seconds=2.5),
        stored=_stored(compute["id"], seconds=3.0),
    )
    assert done["cost"]["actual_usd"] == 0.0025
    events = await gateway.events(compute["id"])
    output = next(e for e in events if e["type"].endswith("output_ready.v1"))
    assert output["data"]["usage"] == {"predict_time_seconds": 2.5, "billed_units": None}

    image = await gateway.submit_to(IMAGE, {"prompt": "a fox"})
    assert image["cost"]["estimate_usd"] == 0.002
    done = await _succeed(
        gateway, publish, image["id"], usage=None, stored=_stored(image["id"], images=2)
    )
    assert done["cost"]["actual_usd"] == 0.004

    # fal's billed units are what the provider charged: they win over the stored length
    billed = await gateway.submit_to(VIDEO, {"prompt": "a fox", "duration": 2})
    done = await _succeed(
        gateway,
        publish,
        billed["id"],
        usage=ProviderUsage(billed_units=3.0),
        stored=_stored(billed["id"], seconds=2.0),
    )
    assert done["cost"]["actual_usd"] == 0.03

    unpriced = await gateway.submit_to(UNPRICED, {"prompt": "a fox"})
    assert (unpriced["cost"]["estimate_usd"], unpriced["cost"]["unit_usd"]) == (None, None)
    done = await _succeed(
        gateway,
        publish,
        unpriced["id"],
        usage=ProviderUsage(predict_time_seconds=9.0),
        stored=_stored(unpriced["id"], seconds=6.0),
    )
    assert done["cost"]["actual_usd"] is None  # unknown, never 0


async def test_failed_and_canceled_jobs_keep_what_they_cost(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    # two attempts (a fallback) on a compute-time price: both attempts' time is paid
    job = await gateway.submit_to(COMPUTE, {"prompt": "a fox"})
    job_id = job["id"]
    await publish(submitted(job_id, "sandbox", "pred-1"))
    first = attempt_failed(
        job_id,
        attempt=0,
        provider="sandbox",
        request_id="pred-1",
        error=MODEL_ERROR,
        next_provider="sandbox-fal",
    )
    await publish(first.model_copy(update={"usage": ProviderUsage(predict_time_seconds=1.0)}))
    await publish(submitted(job_id, "sandbox-fal", "req-2"))
    await publish(_failed(job_id, ProviderUsage(predict_time_seconds=2.0)))
    failed = await gateway.wait_for_status(job_id, "failed")
    assert failed["cost"]["actual_usd"] == 0.003
    assert failed["cost"]["estimate_usd"] == 0.005

    # per second of output, failed with nothing stored and nothing billed: unknown
    video = await gateway.submit_to(VIDEO, {"prompt": "a fox"})
    await publish(submitted(video["id"]))
    await publish(_failed(video["id"]))
    assert (await gateway.wait_for_status(video["id"], "failed"))["cost"]["actual_usd"] is None

    # canceled before any provider accepted it: nothing ran, nothing cost
    queued = await gateway.submit_to(VIDEO, {"prompt": "a fox"})
    await publish(canceled(queued["id"]))
    gone = await gateway.wait_for_status(queued["id"], "canceled")
    assert gone["cost"]["actual_usd"] == 0.0
    assert gone["cost"]["estimate_usd"] == 0.03
    await wait_until_projected(nats_server.url)


async def _usage(gateway: Gateway, query: str, key: str | None = None) -> Any:
    response = await gateway.client.get(
        f"/v1/usage{query}", headers=gateway.auth(key) if key else gateway.auth()
    )
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_usage_sums_by_day_and_model_for_the_owner_only(
    gateway: Gateway, publish: Publish
) -> None:
    today = utcnow().date().isoformat()
    a = await gateway.submit_to(VIDEO, {"prompt": "a", "duration": 2})
    await _succeed(gateway, publish, a["id"], usage=None, stored=_stored(a["id"], seconds=2.0))
    b = await gateway.submit_to(IMAGE, {"prompt": "b"})
    await _succeed(gateway, publish, b["id"], usage=None, stored=_stored(b["id"], images=1))
    c = await gateway.submit_to(UNPRICED, {"prompt": "c"})  # queued, no price: unknown
    old = await gateway.submit_to(VIDEO, {"prompt": "old", "duration": 5})  # queued, estimated
    async with gateway.sessions.begin() as session:
        await session.execute(
            update(Job).where(Job.id == old["id"]).values(created_day="2026-01-15")
        )
    alice = await gateway.new_key("alice")
    alices = await gateway.client.post(
        "/v1/generations",
        json={"model": VIDEO, "input": {"prompt": "alice's"}},
        headers=gateway.auth(alice),
    )
    assert alices.status_code == 202

    by_day = await _usage(gateway, f"?from=2026-01-01&to={today}")
    assert by_day == [
        {
            "day": "2026-01-15",
            "jobs": 1,
            "video_seconds": 0.0,
            "images": 0,
            "estimated_usd": 0.05,
            "actual_usd": None,
            "unknown_cost_jobs": 0,
        },
        {
            "day": today,
            "jobs": 3,
            "video_seconds": 2.0,
            "images": 1,
            "estimated_usd": 0.022,
            "actual_usd": 0.022,
            "unknown_cost_jobs": 1,
        },
    ]
    by_model = {
        row["model"]: row
        for row in await _usage(gateway, f"?from=2026-01-01&to={today}&group_by=model")
    }
    assert sorted(by_model) == [UNPRICED, IMAGE, VIDEO]
    assert (by_model[VIDEO]["jobs"], by_model[VIDEO]["estimated_usd"]) == (2, 0.07)
    assert (by_model[UNPRICED]["estimated_usd"], by_model[UNPRICED]["unknown_cost_jobs"]) == (
        None,
        1,
    )
    assert by_model[IMAGE]["images"] == 1
    assert c["id"] not in str(by_model)

    # the default range is this month: January's job is left out
    assert [row["day"] for row in await _usage(gateway, "")] == [today]

    # admin: another owner's usage; that owner: only their own, and no `owner`
    [theirs] = await _usage(gateway, "?group_by=model&owner=alice")
    assert (theirs["model"], theirs["jobs"]) == (VIDEO, 1)
    assert await _usage(gateway, "?group_by=model", alice) == [theirs]
    refused = await gateway.client.get("/v1/usage?owner=dev", headers=gateway.auth(alice))
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")

    for query in (
        "?from=2026-02-01&to=2026-01-01",
        "?from=2024-01-01&to=2025-12-31",
        "?group_by=week",
        "?from=yesterday",
        "?limit=3",
    ):
        bad = await gateway.client.get(f"/v1/usage{query}", headers=gateway.auth())
        assert (bad.status_code, bad.json()["code"]) == (422, "validation_error"), query


async def _jobs(gateway: Gateway) -> int:
    async with gateway.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Job))).scalar_one())


async def test_a_submit_or_retry_past_the_monthly_budget_is_402_and_writes_nothing(
    settings: Settings, publish: Publish
) -> None:
    budgeted = settings.model_copy(
        update={"costs": CostSettings(monthly_budget_usd=0.05, owner_budgets_usd={"free": None})}
    )
    async with running_gateway(budgeted) as gateway:
        first = await gateway.submit_to(VIDEO, {"prompt": "a", "duration": 3})  # 0.03
        await publish(submitted(first["id"]))
        await publish(_failed(first["id"]))  # actual unknown: its estimate counts
        await gateway.wait_for_status(first["id"], "failed")

        retry = await gateway.client.post(
            f"/v1/generations/{first['id']}/retry", headers=gateway.auth()
        )
        over = await gateway.client.post(
            "/v1/generations",
            json={"model": VIDEO, "input": {"prompt": "b", "duration": 3}},
            headers=gateway.auth(),
        )
        for refused in (retry, over):
            assert refused.status_code == 402, refused.text
            problem = refused.json()
            assert problem["code"] == "budget_exceeded"
            assert "0.05 USD" in problem["detail"]
            assert "0.0300 USD" in problem["detail"]
        assert await _jobs(gateway) == 1
        assert (await gateway.job(first["id"]))["retried_by"] is None

        # up to the budget exactly is fine; a job of unknown cost once it is used up is not
        await gateway.submit_to(VIDEO, {"prompt": "c", "duration": 2})  # 0.03 + 0.02
        unknown = await gateway.client.post(
            "/v1/generations",
            json={"model": UNPRICED, "input": {"prompt": "d"}},
            headers=gateway.auth(),
        )
        assert (unknown.status_code, unknown.json()["code"]) == (402, "budget_exceeded")

        # an owner without a budget is never refused
        free = await gateway.new_key("free")
        ok = await gateway.client.post(
            "/v1/generations",
            json={"model": VIDEO, "input": {"prompt": "e", "duration": 10}},
            headers=gateway.auth(free),
        )
        assert ok.status_code == 202
        assert await _jobs(gateway) == 3


async def test_concurrent_submits_cannot_overshoot_the_budget_on_postgresql(
    settings: Settings,
) -> None:
    if not settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite takes no budget lock (documented): concurrent submits may overshoot")
    budgeted = settings.model_copy(update={"costs": CostSettings(monthly_budget_usd=0.05)})
    async with running_gateway(budgeted) as gateway:

        async def one(n: int) -> int:
            response = await gateway.client.post(
                "/v1/generations",
                json={"model": VIDEO, "input": {"prompt": f"race {n}", "duration": 1}},
                headers=gateway.auth(),
            )
            return response.status_code

        codes = await asyncio.gather(*(one(n) for n in range(7)))

        assert sorted(codes) == [202] * 5 + [402] * 2
        assert await _jobs(gateway) == 5
