"""``GET /v1/generations`` filters: status, model, error code, time range; strict query."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from reelhouse.common.events import Event, GenerationFailed, JobError, utcnow
from tests.integration.gateway import job_events
from tests.integration.gateway.harness import Gateway

Publish = Callable[[Event], Awaitable[None]]


async def fail(gateway: Gateway, publish: Publish, job_id: str, code: str) -> None:
    error = JobError(stage="provider", code=code, message="it failed")
    await publish(GenerationFailed(event_id=f"{job_id}:failed", job_id=job_id, error=error))
    await gateway.wait_for_status(job_id, "failed")


async def listed(gateway: Gateway, params: Any) -> list[str]:
    response = await gateway.client.get("/v1/generations", params=params, headers=gateway.auth())
    assert response.status_code == 200, response.text
    return [job["id"] for job in response.json()["data"]]


async def test_status_model_and_error_code_filters_combine(
    gateway: Gateway, publish: Publish
) -> None:
    queued = (await gateway.submit("queued"))["id"]
    timed_out = (await gateway.submit("timed out"))["id"]
    broken = (await gateway.submit("broken"))["id"]
    image = (await gateway.submit_to("sandbox/text-to-image", {"prompt": "img"}))["id"]
    await fail(gateway, publish, timed_out, "provider_timeout")
    await fail(gateway, publish, broken, "provider_model_error")
    await publish(job_events.canceled(image))
    await gateway.wait_for_status(image, "canceled")

    assert await listed(gateway, {"status": "failed"}) == [broken, timed_out]
    assert await listed(gateway, {"status": "failed,canceled"}) == [image, broken, timed_out]
    assert await listed(gateway, [("status", "queued"), ("status", "canceled")]) == [image, queued]
    assert await listed(gateway, {"model": "sandbox/text-to-image"}) == [image]
    assert await listed(gateway, {"error_code": "provider_timeout"}) == [timed_out]
    assert await listed(gateway, {"status": "failed", "model": "sandbox/text-to-image"}) == []


async def test_time_range_filters_are_inclusive_after_and_exclusive_before(
    gateway: Gateway,
) -> None:
    job = await gateway.submit()
    created = job["created_at"]
    later = (utcnow() + timedelta(hours=1)).isoformat()

    assert await listed(gateway, {"created_after": created}) == [job["id"]]
    assert await listed(gateway, {"created_before": created}) == []
    assert await listed(gateway, {"created_after": later}) == []


async def test_the_cursor_continues_a_filtered_list(gateway: Gateway, publish: Publish) -> None:
    failed = []
    for n in range(5):
        job_id = (await gateway.submit(f"job {n}"))["id"]
        if n % 2 == 0:
            await fail(gateway, publish, job_id, "provider_timeout")
            failed.append(job_id)

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"status": "failed", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (
            await gateway.client.get("/v1/generations", params=params, headers=gateway.auth())
        ).json()
        seen += [job["id"] for job in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == list(reversed(failed))


async def test_an_unknown_query_parameter_is_a_422_naming_it(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/v1/generations", params={"state": "failed"}, headers=gateway.auth()
    )

    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"] == [
        {"path": "query.state", "message": "unknown query parameter"}
    ]


async def test_bad_filter_values_are_422s_with_the_field_path(gateway: Gateway) -> None:
    cases = {
        "query.status": {"status": "done"},
        "query.created_after": {"created_after": "yesterday"},
        "query.created_before": {
            "created_after": "2026-01-02T00:00:00Z",
            "created_before": "2026-01-01T00:00:00Z",
        },
    }
    for path, params in cases.items():
        response = await gateway.client.get(
            "/v1/generations", params=params, headers=gateway.auth()
        )
        assert response.status_code == 422, (path, response.text)
        # a list item's path names its index (query.status.0)
        paths = [e["path"] for e in response.json()["errors"]]
        assert any(p == path or p.startswith(f"{path}.") for p in paths), response.text


async def test_a_time_without_a_zone_is_refused(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/v1/generations", params={"created_after": "2026-01-01T00:00:00"}, headers=gateway.auth()
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "query.created_after"


async def test_filters_never_reach_another_owners_jobs(gateway: Gateway) -> None:
    await gateway.submit("owned by dev")
    other = await gateway.new_key("someone-else")

    response = await gateway.client.get(
        "/v1/generations", params={"status": "queued"}, headers=gateway.auth(other)
    )

    assert response.json()["data"] == []
