"""A poison ``gen.output.v1`` ends in one dead-letter record and is never redelivered."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from reelhouse.common.deadletter import PoisonCode
from reelhouse.common.events import GenerationOutputReady, GenerationStored
from reelhouse.downloader.handlers import DURABLE
from tests.integration.downloader.conftest import RunDownloader
from tests.integration.downloader.jobs import output_ready
from tests.integration.downloader.observations import JetStreamEvents
from tests.integration.downloader.origin import Origin, Route
from tests.support.deadletters import (
    POISONS,
    assert_recorded,
    publish_poison,
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
