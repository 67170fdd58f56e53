"""Object storage unreachable when a composition arrives: the message comes back, it is not failed.

The assembler reaches the test's S3 server through a TCP proxy that starts closed (connections
refused). Once two deliveries have failed on storage (negatively acknowledged, redelivered),
the proxy opens on the same port and the next delivery assembles the film.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reelhouse.assembler.run_keys import is_run_key
from reelhouse.common.composition_events import CompositionAssembled, CompositionAssemblyFailed
from reelhouse.common.settings import NatsSettings, StorageSettings
from reelhouse.common.storage import ObjectStore
from tests.integration.assembler.compositions import (
    composition_ready,
    new_composition_id,
    store_scene,
    wait_until,
)
from tests.integration.assembler.conftest import RunAssembler
from tests.integration.downloader.observations import JetStreamEvents
from tests.support.tcpproxy import TcpProxy

pytestmark = pytest.mark.timeout(180)

WAIT_SECONDS = 90.0


async def closed_proxy(storage: StorageSettings) -> tuple[TcpProxy, StorageSettings]:
    """A proxy to ``storage``'s S3 server that refuses connections until started again, and the
    storage settings that go through it."""
    host, port = storage.s3.endpoint.rsplit(":", 1)
    proxy = TcpProxy(host, int(port))
    await proxy.start()
    await proxy.close()  # the port is known, nothing listens on it yet
    behind_proxy = storage.model_copy(
        update={"s3": storage.s3.model_copy(update={"endpoint": f"127.0.0.1:{proxy.port}"})}
    )
    return proxy, behind_proxy


async def test_storage_down_is_retried_later_not_failed(
    events: JetStreamEvents,
    run_assembler: RunAssembler,
    nats_settings: NatsSettings,
    storage: StorageSettings,
    store: ObjectStore,
    tmp_path: Path,
) -> None:
    cmp = new_composition_id()
    scenes = [
        await store_scene(store, tmp_path, f"outputs/job-{cmp}-{i}/0.mp4", seconds=1.0)
        for i in range(2)
    ]
    event = composition_ready(cmp, scenes)
    record = f"{event.key}.assembly-1.json"
    proxy, behind_proxy = await closed_proxy(storage)

    try:
        async with run_assembler(
            storage_settings=behind_proxy,
            nats=nats_settings.model_copy(update={"max_deliver": 30}),
        ) as running:
            await events.publish(event)
            # each delivery starts by looking for the assembly's record: two looks, two deliveries
            await wait_until(
                lambda: running.store.keys_read.count(record) >= 2, within=WAIT_SECONDS
            )
            assert await events.events(CompositionAssemblyFailed.subject, cmp) == []
            assert await events.events(CompositionAssembled.subject, cmp) == []

            await proxy.start()
            assembled = await events.wait_for(
                (CompositionAssembled.subject, CompositionAssemblyFailed.subject), cmp
            )
            await events.wait_settled("assembler")
    finally:
        await proxy.close()

    assert isinstance(assembled, CompositionAssembled), assembled
    assert is_run_key(assembled.asset.key, event.key)
    assert running.store.puts.count(assembled.asset.key) == 1


async def test_storage_down_through_the_last_delivery_fails_the_assembly(
    events: JetStreamEvents,
    run_assembler: RunAssembler,
    nats_settings: NatsSettings,
    storage: StorageSettings,
    store: ObjectStore,
    tmp_path: Path,
) -> None:
    cmp = new_composition_id()
    scene = await store_scene(store, tmp_path, f"outputs/job-{cmp}-0/0.mp4", seconds=1.0)
    event = composition_ready(cmp, [scene])
    _, behind_proxy = await closed_proxy(storage)

    async with run_assembler(
        storage_settings=behind_proxy, nats=nats_settings.model_copy(update={"max_deliver": 2})
    ) as running:
        await events.publish(event)
        outcome = await events.wait_for(
            (CompositionAssembled.subject, CompositionAssemblyFailed.subject), cmp
        )
        await events.wait_settled("assembler")

    assert isinstance(outcome, CompositionAssemblyFailed), outcome
    assert outcome.event_id == f"{cmp}:assembly_failed:1"
    assert (outcome.error.stage, outcome.error.code) == ("assembly", "max_deliveries_exceeded")
    assert "unreachable" in outcome.error.message
    assert running.store.puts == []
