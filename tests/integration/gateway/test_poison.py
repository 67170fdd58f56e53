"""Poison on the gateway's consumers (the projector, the assembler's answers): one dead-letter
record each, with its reason, and the consumer carries on."""

from __future__ import annotations

from collections.abc import AsyncIterator

import nats
import pytest
from nats.js import JetStreamContext

from reelhouse.common.composition_events import CompositionAssembled, CompositionAssemblyFailed
from reelhouse.common.deadletter import PoisonCode
from reelhouse.common.events import GenerationSubmitted
from reelhouse.gateway.compositions.assembly import DURABLE as ANSWERS
from reelhouse.gateway.projector import DURABLE as PROJECTOR
from tests.integration.gateway.compositions import (
    SCENE,
    Publish,
    compose,
    film_answer,
    store_all,
    wait_status,
)
from tests.integration.gateway.harness import Gateway
from tests.support.deadletters import (
    POISONS,
    assert_recorded,
    publish_poison,
    wait_drained,
    wait_for_record,
)
from tests.support.nats import NatsServer


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_server.url, connect_timeout=2, max_reconnect_attempts=0)
    try:
        yield nc.jetstream()
    finally:
        await nc.close()


def submitted(job_id: str) -> GenerationSubmitted:
    return GenerationSubmitted(
        event_id=f"{job_id}:submitted",
        job_id=job_id,
        provider="sandbox",
        provider_request_id="pred-1",
    )


@pytest.mark.parametrize(("body", "code"), POISONS)
async def test_a_poison_event_is_recorded_once_and_the_next_is_projected(
    body: bytes, code: PoisonCode, gateway: Gateway, publish: Publish, js: JetStreamContext
) -> None:
    nats_settings = gateway.settings.nats
    subject = GenerationSubmitted.subject
    seq = await publish_poison(js, subject, body, stream=nats_settings.stream)
    record = await wait_for_record(
        js, nats_settings.deadletter_stream, stream=nats_settings.stream, seq=seq
    )

    job_id = (await gateway.submit())["id"]
    await publish(submitted(job_id))
    await gateway.wait_for_status(job_id, "submitted")
    info = await wait_drained(js, nats_settings.stream, PROJECTOR)

    assert_recorded(record, subject=subject, body=body, code=code, consumer=PROJECTOR, seq=seq)
    assert info.num_redelivered == 0


async def test_an_event_for_an_unknown_job_is_recorded_as_unknown_job(
    gateway: Gateway, publish: Publish, js: JetStreamContext
) -> None:
    nats_settings = gateway.settings.nats
    stranger = submitted("gen_" + "0" * 32)
    await publish(stranger)
    last = await js.get_last_msg(nats_settings.stream, GenerationSubmitted.subject)

    record = await wait_for_record(
        js, nats_settings.deadletter_stream, stream=nats_settings.stream, seq=last.seq or 0
    )

    assert_recorded(
        record,
        subject=GenerationSubmitted.subject,
        body=stranger.model_dump_json().encode(),
        code=PoisonCode.UNKNOWN_JOB,
        consumer=PROJECTOR,
        seq=last.seq or 0,
    )
    assert stranger.job_id in record.headers["Reelhouse-Dead-Letter-Reason"]
    # the event's own headers travel with it, so it can be replayed as it was
    assert record.headers["ce-id"] == stranger.event_id


@pytest.mark.parametrize(
    "subject", [CompositionAssembled.subject, CompositionAssemblyFailed.subject]
)
@pytest.mark.parametrize(("body", "code"), POISONS)
async def test_a_poison_answer_is_recorded_once_and_the_next_settles_its_composition(
    subject: str,
    body: bytes,
    code: PoisonCode,
    gateway: Gateway,
    publish: Publish,
    js: JetStreamContext,
) -> None:
    nats_settings = gateway.settings.nats
    seq = await publish_poison(js, subject, body, stream=nats_settings.stream)
    record = await wait_for_record(
        js, nats_settings.deadletter_stream, stream=nats_settings.stream, seq=seq
    )

    created = await compose(gateway, scenes=[SCENE])
    await store_all(publish, [created["scenes"][0]["job_id"]])
    await wait_status(gateway, created["id"], "assembling")
    await publish(film_answer(created["id"], 1))
    await wait_status(gateway, created["id"], "succeeded")
    info = await wait_drained(js, nats_settings.stream, ANSWERS)

    assert_recorded(record, subject=subject, body=body, code=code, consumer=ANSWERS, seq=seq)
    assert info.num_redelivered == 0
