"""A poison ``composition.ready.v1`` ends in one dead-letter record and is never redelivered."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelhouse.assembler.handlers import DURABLE
from reelhouse.common.composition_events import (
    CompositionAssembled,
    CompositionAssemblyFailed,
    CompositionReady,
)
from reelhouse.common.deadletter import PoisonCode
from reelhouse.common.storage import ObjectStore
from tests.integration.assembler.compositions import (
    composition_ready,
    new_composition_id,
    store_scene,
)
from tests.integration.assembler.conftest import RunAssembler
from tests.integration.downloader.observations import JetStreamEvents
from tests.support.deadletters import (
    POISONS,
    assert_recorded,
    publish_poison,
    wait_drained,
    wait_for_record,
)

pytestmark = pytest.mark.timeout(120)

SUBJECT = CompositionReady.subject
OUTCOME = (CompositionAssembled.subject, CompositionAssemblyFailed.subject)


@pytest.mark.parametrize(("body", "code"), POISONS)
async def test_a_poison_composition_is_recorded_once_and_the_next_is_assembled(
    body: bytes,
    code: PoisonCode,
    events: JetStreamEvents,
    run_assembler: RunAssembler,
    store: ObjectStore,
    tmp_path: Path,
) -> None:
    cmp = new_composition_id()
    scene = await store_scene(store, tmp_path, f"outputs/job-{cmp}-0/0.mp4", seconds=1.0)
    valid = composition_ready(cmp, [scene])

    async with run_assembler() as running:
        nats = running.settings.nats
        seq = await publish_poison(events.js, SUBJECT, body, stream=nats.stream)
        record = await wait_for_record(
            events.js, nats.deadletter_stream, stream=nats.stream, seq=seq
        )
        await events.publish(valid)
        outcome = await events.wait_for(OUTCOME, valid.job_id)
        info = await wait_drained(events.js, nats.stream, DURABLE)

    assert_recorded(record, subject=SUBJECT, body=body, code=code, consumer=DURABLE, seq=seq)
    assert isinstance(outcome, CompositionAssembled), outcome
    assert info.num_redelivered == 0
