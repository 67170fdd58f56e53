"""Both protocols end to end: real NATS, the real sandbox (Replicate and fal), the official
clients unmodified, webhooks signed by the sandbox and received by the dispatcher's HTTP port."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from reelhouse.common.events import (
    STREAM_NAME,
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
from tests.integration.dispatcher.conftest import (
    Bus,
    Sandbox,
    dispatcher_settings,
    running_dispatcher,
)
from tests.support.nats import NatsServer

PROTOCOLS = [
    pytest.param(("sandbox", "sandbox/text-to-video"), id="replicate"),
    pytest.param(("sandbox-fal", "sandbox-fal/text-to-video"), id="fal"),
]
Route = tuple[str, str]


def requested(
    route: Route, *, deadline_seconds: int = 60, fault: str | None = None, **extra: Any
) -> GenerationRequested:
    provider, model = route
    inputs: dict[str, Any] = {"prompt": "a lighthouse", "duration": 1, "width": 128, "height": 72}
    if fault is not None:
        inputs["sandbox_fault"] = fault
    return GenerationRequested(
        job_id=f"job-{uuid.uuid4().hex[:12]}",
        owner_id="dev",
        model="text-to-video",
        provider=provider,
        provider_model=model,
        input=inputs,
        deadline_seconds=deadline_seconds,
        **extra,
    )


@contextlib.asynccontextmanager
async def dispatcher(
    nats_server: NatsServer, sandbox: Sandbox, **overrides: Any
) -> AsyncIterator[Bus]:
    settings = dispatcher_settings(nats_server.url, sandbox.url, sandbox=sandbox, **overrides)
    async with running_dispatcher(nats_server.url, settings=settings) as bus:
        yield bus


async def settled(bus: Bus) -> None:
    await bus.drained(DISPATCH_CONSUMER)
    await bus.drained(POLL_CONSUMER)


async def the_prediction(bus: Bus, sandbox: Sandbox, job: GenerationRequested) -> dict[str, Any]:
    submitted = await bus.wait_for(job.job_id, GenerationSubmitted)
    return await sandbox.prediction(submitted.provider_request_id)


async def webhooks_answered(sandbox: Sandbox, prediction_id: str, at_least: int) -> list[int]:
    """The receiver's answers to the sandbox's webhook tries, once ``at_least`` were made."""
    for _ in range(200):  # up to 10 s
        seen = await sandbox.prediction(prediction_id)
        answers = [
            attempt["status_code"] for hook in seen["webhooks"] for attempt in hook["attempts"]
        ]
        if len(answers) >= at_least:
            return answers
        await asyncio.sleep(0.05)
    raise AssertionError(f"webhooks not answered: {seen['webhooks']}")


@pytest.mark.parametrize("route", PROTOCOLS)
async def test_webhooks_finish_the_job_long_before_the_next_poll(
    nats_server: NatsServer, sandbox: Sandbox, route: Route
) -> None:
    async with dispatcher(
        nats_server, sandbox, webhook_base_url="self", poll_interval_with_webhooks_seconds=120
    ) as bus:
        job = requested(route)
        await bus.publish(job)
        output = await bus.wait_for(job.job_id, GenerationOutputReady)
        prediction = await the_prediction(bus, sandbox, job)

        assert output.provider_request_id == prediction["id"]
        assert prediction["webhook"]["url"].endswith(f"/webhooks/{route[0]}/{job.job_id}")
        assert 200 in await webhooks_answered(sandbox, prediction["id"], at_least=1)
        # what the provider used travels on to the gateway's cost ledger: compute time
        # (Replicate metrics.predict_time, fal metrics.inference_time) and, from fal, the
        # billed units (x-fal-billable-units: seconds of video for a video model)
        assert output.usage is not None
        assert output.usage.predict_time_seconds is not None
        assert output.usage.predict_time_seconds >= 0
        expected_units = 1.0 if route[0] == "sandbox-fal" else None
        assert output.usage.billed_units == expected_units


@pytest.mark.parametrize("route", PROTOCOLS)
@pytest.mark.parametrize("fault", ["no_webhook", "bad_signature"])
async def test_polling_finishes_the_job_when_webhooks_are_lost_or_forged(
    nats_server: NatsServer, sandbox: Sandbox, route: Route, fault: str
) -> None:
    async with dispatcher(
        nats_server, sandbox, webhook_base_url="self", poll_interval_with_webhooks_seconds=0.3
    ) as bus:
        job = requested(route, fault=fault)
        await bus.publish(job)
        await bus.wait_for(job.job_id, GenerationOutputReady)
        prediction = await the_prediction(bus, sandbox, job)
        if fault == "bad_signature":
            answers = await webhooks_answered(sandbox, prediction["id"], at_least=1)
            assert set(answers) == {401}
        await settled(bus)
        assert len(bus.of(job.job_id, GenerationOutputReady)) == 1
        assert not bus.of(job.job_id, GenerationFailed)


@pytest.mark.parametrize("route", PROTOCOLS)
@pytest.mark.parametrize("fault", ["duplicate_webhook", "out_of_order_webhook"])
async def test_repeated_or_late_webhooks_leave_exactly_one_output(
    nats_server: NatsServer, sandbox: Sandbox, route: Route, fault: str
) -> None:
    async with dispatcher(
        nats_server, sandbox, webhook_base_url="self", poll_interval_with_webhooks_seconds=0.5
    ) as bus:
        job = requested(route, fault=fault)
        await bus.publish(job)
        await bus.wait_for(job.job_id, GenerationOutputReady)
        prediction = await the_prediction(bus, sandbox, job)
        await webhooks_answered(sandbox, prediction["id"], at_least=2)
        await settled(bus)

        assert len(bus.of(job.job_id, GenerationOutputReady)) == 1
        assert not bus.of(job.job_id, GenerationFailed)
        assert not bus.of(job.job_id, GenerationCanceled)


async def test_forged_webhook_is_refused_and_publishes_nothing(
    nats_server: NatsServer, sandbox: Sandbox
) -> None:
    async with dispatcher(nats_server, sandbox, webhook_base_url="self") as bus:
        job = requested(("sandbox", "sandbox/text-to-video"), fault="never_finishes")
        await bus.publish(job)
        submitted = await bus.wait_for(job.job_id, GenerationSubmitted)
        await bus.drained(DISPATCH_CONSUMER)
        before = (await bus.js.stream_info(STREAM_NAME)).state.messages
        forged = {"id": submitted.provider_request_id, "status": "succeeded", "output": []}
        headers = {
            "webhook-id": "msg_forged",
            "webhook-timestamp": "1760000000",
            "webhook-signature": "v1,Zm9yZ2VkLXNpZ25hdHVyZQ==",
        }

        async with httpx.AsyncClient(base_url=bus.http_url) as client:
            refused = await client.post(
                f"/webhooks/sandbox/{job.job_id}", json=forged, headers=headers
            )
            unsigned = await client.post(f"/webhooks/sandbox-fal/{job.job_id}", json=forged)

        assert (refused.status_code, unsigned.status_code) == (401, 401)
        assert (await bus.js.stream_info(STREAM_NAME)).state.messages == before
        assert not bus.of(job.job_id, GenerationOutputReady)


@pytest.mark.parametrize("route", PROTOCOLS)
@pytest.mark.parametrize("fault", ["rate_limit_submit", "server_error_poll", "slow_queue"])
async def test_recoverable_faults_end_in_one_prediction_and_one_output(
    nats_server: NatsServer, sandbox: Sandbox, route: Route, fault: str
) -> None:
    async with dispatcher(nats_server, sandbox) as bus:
        job = requested(route, fault=fault)
        await bus.publish(job)
        await bus.wait_for(job.job_id, GenerationOutputReady)
        await settled(bus)

        assert len(await sandbox.predictions()) == 1
        assert len(bus.of(job.job_id, GenerationOutputReady)) == 1
        assert not bus.of(job.job_id, GenerationFailed)


@pytest.mark.parametrize("route", PROTOCOLS)
async def test_model_error_fails_with_the_providers_message(
    nats_server: NatsServer, sandbox: Sandbox, route: Route
) -> None:
    async with dispatcher(nats_server, sandbox) as bus:
        job = requested(route, fault="model_error")
        await bus.publish(job)
        failed = await bus.wait_for(job.job_id, GenerationFailed)

        assert (failed.error.stage, failed.error.code) == ("provider", "provider_model_error")
        assert MODEL_ERROR_MESSAGE in (failed.error.provider_detail or "")
        # a failed prediction still used compute time, and the failure says how much
        assert failed.usage is not None
        assert failed.usage.predict_time_seconds is not None


@pytest.mark.parametrize("route", PROTOCOLS)
async def test_unknown_status_fails_as_a_protocol_error(
    nats_server: NatsServer, sandbox: Sandbox, route: Route
) -> None:
    async with dispatcher(nats_server, sandbox) as bus:
        job = requested(route, fault="unknown_status")
        await bus.publish(job)
        failed = await bus.wait_for(job.job_id, GenerationFailed)

        assert failed.error.code == "provider_protocol_error"
        await settled(bus)
        assert not bus.of(job.job_id, GenerationOutputReady)


@pytest.mark.parametrize("route", PROTOCOLS)
@pytest.mark.parametrize("fault", ["never_starts", "never_finishes"])
async def test_stuck_generation_times_out_and_the_provider_sees_a_cancel(
    nats_server: NatsServer, sandbox: Sandbox, route: Route, fault: str
) -> None:
    async with dispatcher(nats_server, sandbox) as bus:
        job = requested(route, fault=fault, deadline_seconds=2)
        await bus.publish(job)
        failed = await bus.wait_for(job.job_id, GenerationFailed)
        prediction = await the_prediction(bus, sandbox, job)

        assert failed.error.code == "provider_timeout"
        assert prediction["calls"]["cancel"] >= 1
        assert not bus.of(job.job_id, GenerationOutputReady)


@pytest.mark.parametrize("route", PROTOCOLS)
async def test_cancel_reaches_the_provider_and_cancels_the_job(
    nats_server: NatsServer, sandbox: Sandbox, route: Route
) -> None:
    async with dispatcher(nats_server, sandbox) as bus:
        job = requested(route, fault="never_finishes")
        await bus.publish(job)
        await bus.wait_for(job.job_id, GenerationSubmitted)
        await bus.wait_for_one(job.job_id, GenerationProgressed, lambda p: p.running)

        await bus.publish(CancelRequested(job_id=job.job_id, owner_id="dev"))
        canceled = await bus.wait_for(job.job_id, GenerationCanceled)
        await settled(bus)
        prediction = await the_prediction(bus, sandbox, job)

        assert prediction["calls"]["cancel"] == 1
        # it ran before it was canceled: the compute time it used is reported (and billed)
        assert canceled.usage is not None
        assert canceled.usage.predict_time_seconds is not None
        assert len(bus.of(job.job_id, GenerationCanceled)) == 1
        assert not bus.of(job.job_id, GenerationFailed)
        assert not bus.of(job.job_id, GenerationOutputReady)


@pytest.mark.parametrize("route", PROTOCOLS)
async def test_cancel_racing_completion_ends_the_job_once(
    nats_server: NatsServer, sandbox: Sandbox, route: Route
) -> None:
    async with dispatcher(nats_server, sandbox) as bus:
        job = requested(route, fault="cancel_race")
        await bus.publish(job)
        await bus.wait_for(job.job_id, GenerationSubmitted)

        await bus.publish(CancelRequested(job_id=job.job_id, owner_id="dev"))
        await bus.wait_for_any(job.job_id, GenerationOutputReady, GenerationCanceled)
        await settled(bus)

        outputs = bus.of(job.job_id, GenerationOutputReady)
        canceled = bus.of(job.job_id, GenerationCanceled)
        assert len(outputs) + len(canceled) == 1
        assert not bus.of(job.job_id, GenerationFailed)
