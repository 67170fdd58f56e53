"""A poison ``gen.output.v1`` ends in one dead-letter record and is never redelivered."""

from __future__ import annotations

import asyncio

import pytest
from nats.js.api import ConsumerInfo
from prometheus_client import REGISTRY

from reelhouse.common.deadletter import CODE_HEADER, DELIVERIES_HEADER, PoisonCode
from reelhouse.common.events import GenerationOutputReady, GenerationStored
from reelhouse.common.streams import ensure_stream
from reelhouse.downloader.handlers import DURABLE
from tests.integration.downloader.conftest import RunDownloader
from tests.integration.downloader.jobs import output_ready
from tests.integration.downloader.observations import JetStreamEvents
from tests.integration.downloader.origin import Origin, Route
from tests.support.deadletters import (
    NOT_JSON,
    POISONS,
    WAIT_SECONDS,
    assert_recorded,
    publish_poison,
    records_for,
    wait_drained,
    wait_for_record,
)

SUBJECT = GenerationOutputReady.subject


def dead_letters(code: PoisonCode) -> float:
    value = REGISTRY.get_sample_value(
        "reelhouse_dead_letters_total", {"consumer": DURABLE, "code": code.value}
    )
    return value or 0.0


@pytest.mark.parametrize(("body", "code"), POISONS)
async def test_a_poison_output_is_recorded_once_and_the_next_job_is_stored(
    body: bytes,
    code: PoisonCode,
    origin: Origin,
    events: JetStreamEvents,
    run_downloader: RunDownloader,
    sample_mp4: bytes,
) -> None:
    valid = output_ready(origin.serve("/after-poison.mp4", Route(sample_mp4)))
    before = dead_letters(code)
    async with run_downloader() as settings:
        seq = await publish_poison(events.js, SUBJECT, body, stream=settings.nats.stream)
        record = await wait_for_record(
            events.js, settings.nats.deadletter_stream, stream=settings.nats.stream, seq=seq
        )
        await events.publish(valid)
        outcome = await events.wait_for((GenerationStored.subject,), valid.job_id)
        info = await wait_drained(events.js, settings.nats.stream, DURABLE)

    assert_recorded(record, subject=SUBJECT, body=body, code=code, consumer=DURABLE, seq=seq)
    assert isinstance(outcome, GenerationStored)
    assert info.num_redelivered == 0
    assert dead_letters(code) == before + 1


async def test_a_poison_output_waits_while_its_record_cannot_be_written(
    events: JetStreamEvents, run_downloader: RunDownloader
) -> None:
    async with run_downloader() as settings:
        nats = settings.nats
        await events.js.delete_stream(nats.deadletter_stream)  # an operator's mistake
        seq = await publish_poison(events.js, SUBJECT, NOT_JSON, stream=nats.stream)
        # handed back, not terminated: JetStream delivers it again (after RETRY_BASE_SECONDS)
        await wait_redelivered(events, nats.stream)
        assert (
            await records_for(events.js, nats.deadletter_stream, stream=nats.stream, seq=seq) == []
        )

        await ensure_stream(events.js, nats)  # and its repair
        record = await wait_for_record(
            events.js, nats.deadletter_stream, stream=nats.stream, seq=seq
        )
        await wait_drained(events.js, nats.stream, DURABLE)

    # recorded on a later delivery, once the stream was back
    assert record.body == NOT_JSON
    assert record.headers[CODE_HEADER] == PoisonCode.UNDECODABLE.value
    assert int(record.headers[DELIVERIES_HEADER]) >= 2


async def wait_redelivered(events: JetStreamEvents, stream: str) -> ConsumerInfo:
    """The consumer once it has made a second delivery (the only message here: a redelivery)."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            info: ConsumerInfo = await events.js.consumer_info(stream, DURABLE)
            if info.delivered is not None and (info.delivered.consumer_seq or 0) >= 2:
                return info
            await asyncio.sleep(0.05)
