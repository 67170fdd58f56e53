"""``POST /v1/generations/{id}/retry``: a new job linked both ways; re-download or generate."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

from reelhouse.common.events import (
    Event,
    GenerationFailed,
    GenerationOutputReady,
    GenerationRequested,
    JobError,
    OutputFile,
    utcnow,
)
from tests.integration.gateway import job_events
from tests.integration.gateway.harness import Gateway, eventually, messages_on

Publish = Callable[[Event], Awaitable[None]]
NOT_MEDIA = JobError(stage="download", code="not_media", message="an HTML page, not a video")
MODEL_ERROR = JobError(stage="provider", code="provider_model_error", message="the model failed")


def failed(job_id: str, error: JobError) -> GenerationFailed:
    return GenerationFailed(event_id=f"{job_id}:failed", job_id=job_id, error=error)


def output_expiring(job_id: str, *, in_seconds: float) -> GenerationOutputReady:
    return GenerationOutputReady(
        event_id=f"{job_id}:output",
        job_id=job_id,
        provider="sandbox",
        provider_request_id="pred-1",
        outputs=[
            OutputFile(
                index=0,
                url="https://provider.test/files/out.mp4?sig=abc",
                expires_at=utcnow() + timedelta(seconds=in_seconds),
            )
        ],
    )


async def failed_job(gateway: Gateway, publish: Publish, error: JobError) -> str:
    job_id = str((await gateway.submit("retry me", duration=2))["id"])
    await publish(job_events.submitted(job_id))
    await publish(failed(job_id, error))
    await gateway.wait_for_status(job_id, "failed")
    return job_id


async def failed_download(gateway: Gateway, publish: Publish, *, expires_in: float) -> str:
    job_id = str((await gateway.submit("retry me", duration=2))["id"])
    await publish(job_events.submitted(job_id))
    await publish(output_expiring(job_id, in_seconds=expires_in))
    await gateway.wait_for_status(job_id, "downloading")
    await publish(failed(job_id, NOT_MEDIA))
    await gateway.wait_for_status(job_id, "failed")
    return job_id


async def published(gateway: Gateway, subject: str, job_id: str) -> bytes:
    """The body of the message on ``subject`` for ``job_id``, once the relay published it."""

    async def probe() -> bytes | None:
        for message in await messages_on(gateway.settings.nats.url, subject):
            if message.data is not None and job_id.encode() in message.data:
                return message.data
        return None

    return await eventually(probe, what=f"{subject} for {job_id}")


async def retry(gateway: Gateway, job_id: str) -> dict[str, object]:
    response = await gateway.client.post(f"/v1/generations/{job_id}/retry", headers=gateway.auth())
    assert response.status_code == 202, response.text
    body: dict[str, object] = response.json()
    assert response.headers["Location"] == body["links"]["self"]  # type: ignore[index]
    return body


async def test_a_failed_job_is_retried_as_a_new_job_linked_both_ways(
    gateway: Gateway, publish: Publish
) -> None:
    old_id = await failed_job(gateway, publish, MODEL_ERROR)

    new = await retry(gateway, old_id)

    assert new["id"] != old_id
    assert new["status"] == "queued"
    assert new["retry_of"] == old_id
    assert new["retried_by"] is None
    old = await gateway.job(old_id)
    assert old["retried_by"] == new["id"]
    assert old["links"]["retry"].endswith(f"/v1/generations/{old_id}/retry")
    assert (new["model"], new["input"]) == (old["model"], old["input"])
    assert new["deadline_seconds"] == old["deadline_seconds"]
    listed = (await gateway.client.get("/v1/generations", headers=gateway.auth())).json()["data"]
    by_id = {job["id"]: job for job in listed}
    assert by_id[old_id]["retried_by"] == new["id"]
    assert by_id[str(new["id"])]["retry_of"] == old_id
    # generated again: a normal request for the dispatcher, nothing reused
    again = await published(gateway, "gen.requested.v1", str(new["id"]))
    assert GenerationRequested.model_validate_json(again).input == old["input"]


async def test_a_download_failure_with_fresh_urls_is_downloaded_again_not_generated(
    gateway: Gateway, publish: Publish
) -> None:
    old_id = await failed_download(gateway, publish, expires_in=3600)

    new = await retry(gateway, old_id)

    assert new["status"] == "downloading"
    assert new["attempts"] == [
        {
            "provider": "sandbox",
            "provider_request_id": "pred-1",
            "status": "succeeded",
            "error": None,
            "redownload_of": old_id,
        }
    ]
    [first] = await gateway.events(str(new["id"]))
    assert first["status"] == "downloading"
    assert first["data"]["redownload_of"] == old_id
    output = GenerationOutputReady.model_validate_json(
        await published(gateway, "gen.output.v1", str(new["id"]))
    )
    assert [o.url for o in output.outputs] == ["https://provider.test/files/out.mp4?sig=abc"]
    requested = await messages_on(gateway.settings.nats.url, "gen.requested.v1")
    assert all(str(new["id"]).encode() not in (m.data or b"") for m in requested)
    # the downloader's answer lands on the new job as for any other
    await publish(job_events.stored(str(new["id"])))
    done = await gateway.wait_for_status(str(new["id"]), "succeeded")
    assert len(done["outputs"]) == 1


async def test_a_download_failure_with_expired_urls_is_generated_again(
    gateway: Gateway, publish: Publish
) -> None:
    old_id = await failed_download(gateway, publish, expires_in=-60)

    new = await retry(gateway, old_id)

    assert new["status"] == "queued"
    assert new["attempts"] == []


async def test_retrying_twice_points_to_the_first_retry(gateway: Gateway, publish: Publish) -> None:
    old_id = await failed_job(gateway, publish, MODEL_ERROR)
    first = await retry(gateway, old_id)

    again = await gateway.client.post(f"/v1/generations/{old_id}/retry", headers=gateway.auth())

    assert again.status_code == 409
    assert again.json()["code"] == "already_retried"
    assert str(first["id"]) in again.json()["detail"]


async def test_a_job_in_progress_or_succeeded_cannot_be_retried(
    gateway: Gateway, publish: Publish
) -> None:
    running = (await gateway.submit())["id"]
    done = (await gateway.submit())["id"]
    await publish(job_events.submitted(done))
    await publish(job_events.output(done))
    await publish(job_events.stored(done))
    await gateway.wait_for_status(done, "succeeded")

    not_final = await gateway.client.post(
        f"/v1/generations/{running}/retry", headers=gateway.auth()
    )
    succeeded = await gateway.client.post(f"/v1/generations/{done}/retry", headers=gateway.auth())

    assert (not_final.status_code, not_final.json()["code"]) == (409, "job_not_final")
    assert (succeeded.status_code, succeeded.json()["code"]) == (409, "job_not_retryable")


async def test_a_canceled_job_can_be_retried(gateway: Gateway, publish: Publish) -> None:
    job_id = (await gateway.submit())["id"]
    await publish(job_events.canceled(job_id))
    await gateway.wait_for_status(job_id, "canceled")

    new = await retry(gateway, job_id)

    assert new["retry_of"] == job_id


async def test_another_owners_job_cannot_be_retried(gateway: Gateway, publish: Publish) -> None:
    old_id = await failed_job(gateway, publish, MODEL_ERROR)
    other = await gateway.new_key("someone-else")

    response = await gateway.client.post(
        f"/v1/generations/{old_id}/retry", headers=gateway.auth(other)
    )

    assert response.status_code == 404
    assert (await gateway.job(old_id))["retried_by"] is None


async def test_two_concurrent_retries_make_one_new_job(gateway: Gateway, publish: Publish) -> None:
    old_id = await failed_job(gateway, publish, MODEL_ERROR)

    answers = await asyncio.gather(
        *(
            gateway.client.post(f"/v1/generations/{old_id}/retry", headers=gateway.auth())
            for _ in range(2)
        )
    )

    assert sorted(a.status_code for a in answers) == [202, 409]
    [won] = [a.json() for a in answers if a.status_code == 202]
    [lost] = [a.json() for a in answers if a.status_code == 409]
    assert lost["code"] == "already_retried"
    assert (await gateway.job(old_id))["retried_by"] == won["id"]
    listed = (await gateway.client.get("/v1/generations", headers=gateway.auth())).json()["data"]
    assert [job["retry_of"] for job in listed].count(old_id) == 1
