"""The dispatcher end to end: real NATS JetStream, the real sandbox provider."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from reelhouse.common.events import (
    CancelRequested,
    GenerationCanceled,
    GenerationFailed,
    GenerationOutputReady,
    GenerationProgressed,
    GenerationRequested,
    GenerationSubmitted,
)
from reelhouse.dispatcher.handlers import DISPATCH_CONSUMER, POLL_CONSUMER
from reelhouse.sandbox.faults import MODEL_ERROR_MESSAGE
from tests.integration.dispatcher.conftest import PROVIDER_TOKEN, Bus, running_dispatcher
from tests.support.nats import NatsServer


def requested(*, deadline_seconds: int = 60, **input: Any) -> GenerationRequested:
    return GenerationRequested(
        job_id=f"job-{uuid.uuid4().hex[:12]}",
        owner_id="dev",
        model="text-to-video",
        provider="sandbox",
        provider_model="sandbox/text-to-video",
        input={
            "prompt": "a lighthouse at dusk",
            "duration": 1,
            "width": 128,
            "height": 72,
            **input,
        },
        deadline_seconds=deadline_seconds,
    )


async def predictions(sandbox_url: str) -> list[dict[str, Any]]:
    """Every prediction the sandbox holds, through its Replicate list endpoint."""
    headers = {"Authorization": f"Bearer {PROVIDER_TOKEN}"}
    async with httpx.AsyncClient(base_url=sandbox_url, headers=headers) as client:
        response = await client.get("/v1/predictions")
        response.raise_for_status()
        results: list[dict[str, Any]] = response.json()["results"]
        return results


async def test_requested_job_is_submitted_polled_and_its_output_reported(
    sandbox_bus: Bus, sandbox_url: str
) -> None:
    job = requested()

    await sandbox_bus.publish(job)
    output = await sandbox_bus.wait_for(job.job_id, GenerationOutputReady)

    [prediction] = await predictions(sandbox_url)
    submitted = sandbox_bus.of(job.job_id, GenerationSubmitted)
    assert [(s.provider, s.provider_request_id) for s in submitted] == [
        ("sandbox", prediction["id"])
    ]
    assert output.provider_request_id == prediction["id"]
    assert [o.url for o in output.outputs] == prediction["output"]
    assert output.outputs[0].url.startswith(f"{sandbox_url}/files/")
    progress = sandbox_bus.of(job.job_id, GenerationProgressed)
    assert [p.provider_status for p in progress][-1] == "processing"
    assert progress[-1].running
    kinds = [type(e) for e in sandbox_bus.for_job(job.job_id) if e.event_id != job.event_id]
    assert kinds[0] is GenerationSubmitted
    assert kinds[-1] is GenerationOutputReady


async def test_the_poll_is_one_message_redelivered_until_the_prediction_is_final(
    sandbox_bus: Bus,
) -> None:
    job = requested()

    await sandbox_bus.publish(job)
    await sandbox_bus.wait_for(job.job_id, GenerationOutputReady)

    info = await sandbox_bus.drained(POLL_CONSUMER)
    assert info.config.max_deliver == -1
    assert info.delivered is not None
    assert info.ack_floor is not None
    assert info.delivered.stream_seq == info.ack_floor.stream_seq  # one poll message, acked ...
    assert info.delivered.consumer_seq is not None
    assert info.delivered.consumer_seq > 1  # ... after more than one delivery


async def test_a_duplicate_request_does_not_create_a_second_prediction(
    sandbox_bus: Bus, sandbox_url: str
) -> None:
    job = requested()
    # the same job delivered twice (a distinct message id gets past broker de-duplication)
    again = job.model_copy(update={"event_id": f"{job.event_id}-again"})

    await sandbox_bus.publish(job)
    await sandbox_bus.publish(again)
    await sandbox_bus.wait_for(job.job_id, GenerationOutputReady)
    await sandbox_bus.drained(DISPATCH_CONSUMER)
    await sandbox_bus.drained(POLL_CONSUMER)

    assert len(await predictions(sandbox_url)) == 1
    assert len(sandbox_bus.of(job.job_id, GenerationSubmitted)) == 1
    assert len(sandbox_bus.of(job.job_id, GenerationOutputReady)) == 1


async def test_never_finishing_prediction_times_out_and_is_canceled_at_the_provider(
    sandbox_bus: Bus, sandbox_url: str
) -> None:
    job = requested(sandbox_fault="never_finishes", deadline_seconds=1)

    await sandbox_bus.publish(job)
    failed = await sandbox_bus.wait_for(job.job_id, GenerationFailed)

    assert (failed.error.stage, failed.error.code) == ("provider", "provider_timeout")
    [prediction] = await predictions(sandbox_url)
    assert prediction["status"] == "canceled"
    assert not sandbox_bus.of(job.job_id, GenerationOutputReady)


async def test_failed_prediction_fails_the_job_with_the_providers_message(
    sandbox_bus: Bus,
) -> None:
    job = requested(sandbox_fault="model_error")

    await sandbox_bus.publish(job)
    failed = await sandbox_bus.wait_for(job.job_id, GenerationFailed)

    assert failed.event_id == f"{job.job_id}:failed"
    assert failed.error.code == "provider_model_error"
    assert failed.error.provider_detail == MODEL_ERROR_MESSAGE


async def test_input_the_provider_rejects_fails_the_job_with_its_detail(
    sandbox_bus: Bus, sandbox_url: str
) -> None:
    job = requested(duration=60)

    await sandbox_bus.publish(job)
    failed = await sandbox_bus.wait_for(job.job_id, GenerationFailed)

    assert failed.error.code == "provider_rejected_input"
    assert "input.duration" in (failed.error.provider_detail or "")
    assert not sandbox_bus.of(job.job_id, GenerationSubmitted)
    assert await predictions(sandbox_url) == []
    info = await sandbox_bus.drained(DISPATCH_CONSUMER)
    assert info.delivered is not None
    assert info.delivered.consumer_seq == 1  # not retried


async def test_cancel_stops_the_prediction_and_reports_the_job_canceled(
    sandbox_bus: Bus, sandbox_url: str
) -> None:
    job = requested(sandbox_fault="never_finishes")
    await sandbox_bus.publish(job)
    await sandbox_bus.wait_for(job.job_id, GenerationSubmitted)

    await sandbox_bus.publish(CancelRequested(job_id=job.job_id, owner_id="dev"))
    await sandbox_bus.wait_for(job.job_id, GenerationCanceled)
    await sandbox_bus.drained(POLL_CONSUMER)

    [prediction] = await predictions(sandbox_url)
    assert prediction["status"] == "canceled"
    assert len(sandbox_bus.of(job.job_id, GenerationCanceled)) == 1
    assert not sandbox_bus.of(job.job_id, GenerationFailed)


async def test_a_cancel_during_the_submit_cancels_the_prediction_and_names_it(
    nats_server: NatsServer, sandbox_url: str
) -> None:
    """Two replicas: one submits (throttled at first, so it takes a while), the other takes
    the cancel meanwhile and cancels the job before the provider named its request. The
    submitter cancels the request it then gets, and still announces it: the job's attempts
    name every request a provider made for it."""
    job = requested(sandbox_fault="rate_limit_submit")
    async with (
        running_dispatcher(nats_server.url, sandbox_url) as bus,
        running_dispatcher(nats_server.url, sandbox_url),
    ):
        await bus.publish(job)
        await asyncio.sleep(0.3)  # taken by one replica, whose submit is being throttled
        await bus.publish(CancelRequested(job_id=job.job_id, owner_id="dev"))
        await bus.wait_for(job.job_id, GenerationCanceled)
        submitted = await bus.wait_for(job.job_id, GenerationSubmitted)
        await bus.drained(DISPATCH_CONSUMER)
        [prediction] = await predictions(sandbox_url)

    assert prediction["status"] == "canceled"
    assert submitted.provider_request_id == prediction["id"]
    assert len(bus.of(job.job_id, GenerationCanceled)) == 1
