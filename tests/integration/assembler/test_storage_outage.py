"""Object storage down when a composition arrives: the message comes back, it is not failed.

This test owns its S3 server (the shared one must never stop): the assembler is pointed at
the ports of a SeaweedFS that is not running yet. Once two deliveries have failed on storage
(negatively acknowledged, redelivered), the server starts, the scenes are stored, and the
next delivery assembles the film.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelhouse.common.composition_events import CompositionAssembled, CompositionAssemblyFailed
from reelhouse.common.settings import NatsSettings, StorageSettings
from reelhouse.common.storage import build_object_store
from tests.integration.assembler.compositions import (
    composition_ready,
    make_scene,
    new_composition_id,
    wait_until,
)
from tests.integration.assembler.conftest import RunAssembler
from tests.integration.downloader.observations import JetStreamEvents
from tests.support.s3 import SeaweedServer

pytestmark = pytest.mark.timeout(240)

WAIT_SECONDS = 120.0


@pytest.fixture
def seaweed(tmp_path: Path) -> Iterator[SeaweedServer]:
    server = SeaweedServer(tmp_path / "weed")
    server.workdir.mkdir()
    try:
        yield server
    finally:
        server.stop()


async def test_storage_down_is_retried_later_not_failed(
    events: JetStreamEvents,
    run_assembler: RunAssembler,
    nats_settings: NatsSettings,
    seaweed: SeaweedServer,
    tmp_path: Path,
) -> None:
    storage = StorageSettings(backend="s3", s3=seaweed.settings)
    cmp = new_composition_id()
    scenes = [
        await make_scene(tmp_path, f"outputs/job-{cmp}-{i}/0.mp4", seconds=1.0) for i in range(2)
    ]
    event = composition_ready(cmp, [asset for _, asset in scenes])
    record = f"{event.key}.assembly-1.json"

    async with run_assembler(
        storage_settings=storage, nats=nats_settings.model_copy(update={"max_deliver": 30})
    ) as running:
        await events.publish(event)
        # each delivery starts by looking for the assembly's record: two looks, two deliveries
        await wait_until(lambda: running.store.reads.count(record) >= 2, within=WAIT_SECONDS)
        assert await events.events(CompositionAssemblyFailed.subject, cmp) == []
        assert await events.events(CompositionAssembled.subject, cmp) == []

        await asyncio.to_thread(seaweed.start)
        store = build_object_store(storage)
        for path, asset in scenes:
            await store.put_file(asset.key, path, content_type="video/mp4")
        async with asyncio.timeout(WAIT_SECONDS):
            while not (found := await events.events(CompositionAssembled.subject, cmp)):
                assert await events.events(CompositionAssemblyFailed.subject, cmp) == []
                await asyncio.sleep(0.2)
        await events.wait_settled("assembler")

    [assembled] = found
    assert isinstance(assembled, CompositionAssembled)
    assert assembled.asset.key == event.key
    assert running.store.puts.count(event.key) == 1
