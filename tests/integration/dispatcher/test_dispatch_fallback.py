"""A model with several routes: a start-deadline breach or a refused submission moves the job
to the next provider (the fake Replicate API first, the real sandbox's fal protocol next)."""

from __future__ import annotations

import uuid

from reelhouse.common.events import (
    GenerationAttemptFailed,
    GenerationFailed,
    GenerationOutputReady,
    GenerationRequested,
    GenerationSubmitted,
    ProviderRoute,
)
from reelhouse.dispatcher.handlers import POLL_CONSUMER
from tests.integration.dispatcher.conftest import (
    Sandbox,
    dispatcher_settings,
    running_dispatcher,
)
from tests.support.nats import NatsServer
from tests.unit.dispatcher.replicate_fake import FakeReplicate

ROUTES = [
    ProviderRoute(provider="sandbox", provider_model="acme/slow-video"),
    ProviderRoute(provider="sandbox-fal", provider_model="sandbox-fal/text-to-video"),
]


def requested(*, start_deadline_seconds: int | None = None) -> GenerationRequested:
    first = ROUTES[0]
    return GenerationRequested(
        job_id=f"job-{uuid.uuid4().hex[:12]}",
        owner_id="dev",
        model="text-to-video",
        provider=first.provider,
        provider_model=first.provider_model,
        # no sandbox_delay: the fake keeps the prediction "starting" forever
        input={"prompt": "a lighthouse", "duration": 1, "width": 128, "height": 72},
        deadline_seconds=60,
        start_deadline_seconds=start_deadline_seconds,
        routes=ROUTES,
    )


async def test_start_deadline_breach_moves_the_job_to_the_next_route(
    nats_server: NatsServer, sandbox: Sandbox, fake_provider: FakeReplicate
) -> None:
    settings = dispatcher_settings(nats_server.url, fake_provider.base_url, sandbox=sandbox)
    async with running_dispatcher(nats_server.url, settings=settings) as bus:
        job = requested(start_deadline_seconds=1)
        await bus.publish(job)
        output = await bus.wait_for(job.job_id, GenerationOutputReady)
        await bus.drained(POLL_CONSUMER)

        [attempt] = bus.of(job.job_id, GenerationAttemptFailed)
        [first] = fake_provider.predictions
        assert attempt.event_id == f"{job.job_id}:attempt:0:failed"
        assert (attempt.attempt, attempt.provider, attempt.next_provider) == (
            0,
            "sandbox",
            "sandbox-fal",
        )
        assert attempt.provider_request_id == first
        assert attempt.error.code == "provider_timeout"
        assert fake_provider.cancels == [first]
        submitted = bus.of(job.job_id, GenerationSubmitted)
        assert [s.provider for s in submitted] == ["sandbox", "sandbox-fal"]
        assert output.provider == "sandbox-fal"
        assert [p["model"] for p in await sandbox.predictions()] == ["sandbox-fal/text-to-video"]
        assert not bus.of(job.job_id, GenerationFailed)


async def test_refused_submission_moves_the_job_to_the_next_route(
    nats_server: NatsServer, sandbox: Sandbox, fake_provider: FakeReplicate
) -> None:
    fake_provider.fail_next("create", 503, times=20)
    settings = dispatcher_settings(nats_server.url, fake_provider.base_url, sandbox=sandbox)
    async with running_dispatcher(nats_server.url, settings=settings) as bus:
        job = requested()
        await bus.publish(job)
        output = await bus.wait_for(job.job_id, GenerationOutputReady)

        [attempt] = bus.of(job.job_id, GenerationAttemptFailed)
        assert attempt.provider_request_id is None
        assert attempt.error.code == "provider_unavailable"
        assert fake_provider.predictions == {}
        assert output.provider == "sandbox-fal"


async def test_start_deadline_on_the_last_route_fails_the_job(
    nats_server: NatsServer, sandbox: Sandbox, fake_provider: FakeReplicate
) -> None:
    settings = dispatcher_settings(nats_server.url, fake_provider.base_url, sandbox=sandbox)
    async with running_dispatcher(nats_server.url, settings=settings) as bus:
        job = requested(start_deadline_seconds=1).model_copy(update={"routes": ROUTES[:1]})
        await bus.publish(job)
        failed = await bus.wait_for(job.job_id, GenerationFailed)

        assert failed.error.code == "provider_timeout"
        assert len(fake_provider.cancels) == 1
        assert not bus.of(job.job_id, GenerationAttemptFailed)
