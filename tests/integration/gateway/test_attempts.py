"""Provider attempts on the job, and a projector that shrugs off subjects it does not know."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import nats

from reelhouse.common.events import (
    Event,
    GenerationFailed,
    GenerationSubmitted,
    JobError,
)
from reelhouse.gateway.projector import DURABLE
from tests.integration.gateway import job_events
from tests.integration.gateway.harness import Gateway, wait_until_projected
from tests.support.nats import NatsServer

Publish = Callable[[Event], Awaitable[None]]

NOT_STARTED = JobError(
    stage="provider",
    code="provider_timeout",
    message="The provider did not start the work in time; trying the next provider.",
    retryable=True,
    provider_detail="status starting after 5 s",
)


async def test_a_failed_attempt_then_success_on_the_next_route_are_recorded_in_order(
    gateway: Gateway, publish: Publish
) -> None:
    job_id = (
        await gateway.submit_to(
            "sandbox/text-to-video-fallback", {"prompt": "a fox"}, start_deadline_seconds=5
        )
    )["id"]

    await publish(job_events.submitted(job_id, "sandbox", "pred-1"))
    await publish(
        job_events.attempt_failed(
            job_id,
            attempt=1,
            provider="sandbox",
            request_id="pred-1",
            error=NOT_STARTED,
            next_provider="sandbox-fal",
        )
    )
    await publish(job_events.submitted(job_id, "sandbox-fal", "fal-req-2"))
    await publish(job_events.output(job_id, "sandbox-fal", "fal-req-2"))
    await publish(job_events.stored(job_id))
    job = await gateway.wait_for_status(job_id, "succeeded")

    assert job["attempts"] == [
        {
            "provider": "sandbox",
            "provider_request_id": "pred-1",
            "status": "failed",
            "error": NOT_STARTED.model_dump(mode="json"),
            "redownload_of": None,
        },
        {
            "provider": "sandbox-fal",
            "provider_request_id": "fal-req-2",
            "status": "succeeded",
            "error": None,
            "redownload_of": None,
        },
    ]
    history = {e["id"]: e for e in await gateway.events(job_id)}
    failed = history[f"{job_id}:attempt_failed:1"]
    assert failed["status"] is None
    assert failed["data"]["next_provider"] == "sandbox-fal"
    assert failed["data"]["error"]["provider_detail"] == "status starting after 5 s"


async def test_a_refused_submit_is_an_attempt_without_a_request_id(
    gateway: Gateway, publish: Publish
) -> None:
    job_id = (await gateway.submit_to("sandbox/text-to-video-fallback", {"prompt": "x"}))["id"]
    rate_limited = JobError(
        stage="provider",
        code="provider_rate_limited",
        message="The provider is rate limiting us.",
        retryable=True,
        provider_detail="429: slow down",
    )

    await publish(
        job_events.attempt_failed(
            job_id,
            attempt=1,
            provider="sandbox",
            request_id=None,
            error=rate_limited,
            next_provider="sandbox-fal",
        )
    )
    await publish(job_events.submitted(job_id, "sandbox-fal", "fal-req-1"))
    job = await gateway.wait_for_status(job_id, "submitted")

    assert [(a["provider"], a["provider_request_id"], a["status"]) for a in job["attempts"]] == [
        ("sandbox", None, "failed"),
        ("sandbox-fal", "fal-req-1", "running"),
    ]
    assert job["attempts"][0]["error"]["code"] == "provider_rate_limited"


async def test_a_failed_job_shows_the_provider_detail_on_the_job_and_its_attempt(
    gateway: Gateway, publish: Publish
) -> None:
    job_id = (await gateway.submit())["id"]
    error = JobError(
        stage="provider",
        code="provider_model_error",
        message="The model failed to produce an output.",
        retryable=False,
        provider_detail="CUDA out of memory",
    )
    await publish(job_events.submitted(job_id))
    await publish(GenerationFailed(event_id=f"{job_id}:failed", job_id=job_id, error=error))

    job = await gateway.wait_for_status(job_id, "failed")

    assert job["error"] == error.model_dump(mode="json")
    assert job["attempts"][0]["status"] == "failed"
    assert job["attempts"][0]["error"]["provider_detail"] == "CUDA out of memory"


async def test_unknown_subjects_and_bodies_are_acknowledged_and_never_block_the_projector(
    gateway: Gateway, publish: Publish, nats_server: NatsServer
) -> None:
    job_id = (await gateway.submit())["id"]
    nc = await nats.connect(nats_server.url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        js = nc.jetstream()
        await js.publish("gen.brand_new_thing.v1", b'{"job_id": "%s"}' % job_id.encode())
        await js.publish(GenerationSubmitted.subject.replace("v1", "v2"), b"{}")
        await js.publish(GenerationSubmitted.subject, b"not json at all")
    finally:
        await nc.close()

    await publish(job_events.submitted(job_id))
    await gateway.wait_for_status(job_id, "submitted")
    await wait_until_projected(nats_server.url)

    nc = await nats.connect(nats_server.url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        info = await nc.jetstream().consumer_info(gateway.settings.nats.stream, DURABLE)
        assert info.num_redelivered == 0
        assert info.num_ack_pending == 0
    finally:
        await nc.close()
