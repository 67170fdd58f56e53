"""A poison message on each dispatcher subject ends in one dead-letter record, never a loop."""

from __future__ import annotations

import pytest

from reelhouse.common.deadletter import PoisonCode
from reelhouse.common.events import (
    STREAM_NAME,
    CancelRequested,
    GenerationOutputReady,
    GenerationRequested,
    PollPrediction,
)
from reelhouse.common.settings import NatsSettings
from reelhouse.dispatcher.handlers import DISPATCH_CONSUMER, POLL_CONSUMER
from tests.integration.dispatcher.conftest import Bus
from tests.integration.dispatcher.test_dispatch_sandbox import requested
from tests.support.deadletters import (
    POISONS,
    assert_recorded,
    publish_poison,
    wait_drained,
    wait_for_record,
)

DEADLETTER_STREAM = NatsSettings().deadletter_stream
CONSUMERS = [
    (GenerationRequested.subject, DISPATCH_CONSUMER),
    (CancelRequested.subject, DISPATCH_CONSUMER),
    (PollPrediction.subject, POLL_CONSUMER),
]


@pytest.mark.parametrize(("subject", "consumer"), CONSUMERS)
@pytest.mark.parametrize(("body", "code"), POISONS)
async def test_a_poison_command_is_recorded_once_and_the_next_job_is_dispatched(
    subject: str, consumer: str, body: bytes, code: PoisonCode, sandbox_bus: Bus
) -> None:
    seq = await publish_poison(sandbox_bus.js, subject, body, stream=STREAM_NAME)
    record = await wait_for_record(sandbox_bus.js, DEADLETTER_STREAM, stream=STREAM_NAME, seq=seq)

    job = requested()
    await sandbox_bus.publish(job)
    await sandbox_bus.wait_for(job.job_id, GenerationOutputReady)
    info = await wait_drained(sandbox_bus.js, STREAM_NAME, consumer)

    assert_recorded(record, subject=subject, body=body, code=code, consumer=consumer, seq=seq)
    assert info.num_redelivered == 0
