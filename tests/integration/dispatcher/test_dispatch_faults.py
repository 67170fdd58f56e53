"""Provider faults the sandbox does not simulate, against the fake Replicate API over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

from reelhouse.common.events import (
    GenerationFailed,
    GenerationOutputReady,
    GenerationRequested,
    GenerationSubmitted,
)
from tests.integration.dispatcher.conftest import Bus
from tests.unit.dispatcher.replicate_fake import FakeReplicate


def requested(**input: Any) -> GenerationRequested:
    return GenerationRequested(
        job_id=f"job-{uuid.uuid4().hex[:12]}",
        owner_id="dev",
        model="text-to-video",
        provider="sandbox",
        provider_model="sandbox/text-to-video",
        input={"prompt": "a lighthouse at dusk", **input},
        deadline_seconds=60,
    )


async def test_provider_errors_while_polling_are_retried(
    fake_bus: Bus, fake_provider: FakeReplicate
) -> None:
    fake_provider.fail_next("get", 500, times=3)
    job = requested(sandbox_delay=0.2)

    await fake_bus.publish(job)
    output = await fake_bus.wait_for(job.job_id, GenerationOutputReady)

    assert fake_provider.faults_served == 3
    assert len(output.outputs) == 1
    assert not fake_bus.of(job.job_id, GenerationFailed)


async def test_rate_limited_submission_is_retried(
    fake_bus: Bus, fake_provider: FakeReplicate
) -> None:
    fake_provider.fail_next("create", 429)
    job = requested(sandbox_delay=0.2)

    await fake_bus.publish(job)
    await fake_bus.wait_for(job.job_id, GenerationOutputReady)

    assert fake_provider.faults_served == 1
    assert len(fake_provider.predictions) == 1
    assert not fake_bus.of(job.job_id, GenerationFailed)


async def test_status_the_client_cannot_parse_still_ends_the_job(
    fake_bus: Bus, fake_provider: FakeReplicate
) -> None:
    job = requested()  # stays "starting" until the test moves it
    await fake_bus.publish(job)
    submitted = await fake_bus.wait_for(job.job_id, GenerationSubmitted)

    fake_provider.set_state(submitted.provider_request_id, status="aborted")
    failed = await fake_bus.wait_for(job.job_id, GenerationFailed)

    # the API says "aborted" when the Cancel-After deadline passed before the start: not yet here
    assert failed.error.code == "provider_protocol_error"
    assert "aborted" in (failed.error.provider_detail or "")
