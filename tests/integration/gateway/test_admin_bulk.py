"""``/v1/admin/generations/retry`` and ``/cancel``: by filter, dry run first, bounded."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from reelhouse.common.events import Event, GenerationFailed, JobError
from reelhouse.gateway.settings import RetrySettings, Settings
from tests.integration.gateway.harness import Gateway, running_gateway

Publish = Callable[[Event], Awaitable[None]]


async def failed_jobs(gateway: Gateway, publish: Publish, code: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        job_id = str((await gateway.submit(f"{code} {n}"))["id"])
        error = JobError(stage="provider", code=code, message="it failed")
        await publish(GenerationFailed(event_id=f"{job_id}:failed", job_id=job_id, error=error))
        await gateway.wait_for_status(job_id, "failed")
        ids.append(job_id)
    return ids


async def admin(gateway: Gateway, action: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await gateway.client.post(
        f"/v1/admin/generations/{action}", json=body, headers=gateway.auth()
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_a_dry_run_counts_without_acting_then_the_retry_acts(
    gateway: Gateway, publish: Publish
) -> None:
    timed_out = await failed_jobs(gateway, publish, "provider_timeout", 2)
    await failed_jobs(gateway, publish, "provider_model_error", 1)
    filters = {"status": ["failed"], "error_code": ["provider_timeout"]}

    dry = await admin(gateway, "retry", {**filters, "dry_run": True})

    assert (dry["dry_run"], dry["matched"], dry["job_ids"], dry["results"]) == (
        True,
        2,
        timed_out,
        [],
    )
    for job_id in timed_out:
        assert (await gateway.job(job_id))["retried_by"] is None

    done = await admin(gateway, "retry", filters)

    assert done["matched"] == 2
    assert [r["job_id"] for r in done["results"]] == timed_out
    for result in done["results"]:
        assert (await gateway.job(result["job_id"]))["retried_by"] == result["retry_id"]
        assert (await gateway.job(result["retry_id"]))["retry_of"] == result["job_id"]
    # retried jobs no longer match
    assert (await admin(gateway, "retry", {**filters, "dry_run": True}))["matched"] == 0


async def test_bulk_operations_act_on_at_most_the_configured_number(
    settings: Settings, publish: Publish
) -> None:
    capped = settings.model_copy(update={"retry": RetrySettings(bulk_max_jobs=2)})
    async with running_gateway(capped) as gateway:
        ids = [str((await gateway.submit(f"job {n}"))["id"]) for n in range(3)]

        first = await admin(gateway, "cancel", {"limit": 50})
        second = await admin(gateway, "cancel", {"model": ["sandbox/text-to-video"]})

    assert (first["matched"], first["limit"], first["job_ids"]) == (3, 2, ids[:2])
    assert [r["job_id"] for r in first["results"]] == ids[:2]
    assert (second["matched"], second["job_ids"]) == (1, ids[2:])


async def test_bulk_cancel_flags_jobs_in_progress_only(gateway: Gateway, publish: Publish) -> None:
    [failed] = await failed_jobs(gateway, publish, "provider_timeout", 1)
    queued = str((await gateway.submit())["id"])

    result = await admin(gateway, "cancel", {"status": ["queued", "failed"]})

    assert result["job_ids"] == [queued]
    assert (await gateway.job(queued))["cancel_requested"] is True
    assert (await gateway.job(failed))["cancel_requested"] is False


async def test_an_owner_filter_narrows_and_unknown_fields_are_refused(
    gateway: Gateway, publish: Publish
) -> None:
    await gateway.submit()

    other = await admin(gateway, "cancel", {"owner": "someone-else", "dry_run": True})
    mine = await admin(gateway, "cancel", {"owner": "dev", "dry_run": True})
    bad = await gateway.client.post(
        "/v1/admin/generations/retry", json={"state": ["failed"]}, headers=gateway.auth()
    )
    bad_status = await gateway.client.post(
        "/v1/admin/generations/retry", json={"status": ["done"]}, headers=gateway.auth()
    )
    bad_query = await gateway.client.post(
        "/v1/admin/generations/retry?force=1", json={}, headers=gateway.auth()
    )

    assert (other["matched"], mine["matched"]) == (0, 1)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "state"
    assert bad_status.status_code == 422
    assert bad_status.json()["errors"][0]["path"] == "body.status"
    assert bad_query.status_code == 422
    assert bad_query.json()["errors"][0]["path"] == "query.force"
