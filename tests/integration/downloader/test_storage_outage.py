"""Object storage down for a while during the upload: retried, then stored once.

This test owns its S3 server (the shared one must never stop): the downloader is pointed at
the ports of a SeaweedFS that is not running yet; once a whole delivery has failed on
storage (the message came back and the output was fetched again), the server starts on
those ports, and the job ends stored.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelhouse.common.events import GenerationFailed, GenerationStored
from reelhouse.common.settings import NatsSettings, StorageSettings
from tests.integration.downloader.conftest import RunDownloader
from tests.integration.downloader.jobs import output_ready
from tests.integration.downloader.observations import JetStreamEvents, stored_keys
from tests.integration.downloader.origin import Origin, Route
from tests.integration.downloader.test_ingest_flow import read_object
from tests.support.s3 import SeaweedServer

pytestmark = pytest.mark.timeout(240)

OUTCOME_WAIT_SECONDS = 120.0


@pytest.fixture
def seaweed(tmp_path: Path) -> Iterator[SeaweedServer]:
    server = SeaweedServer(tmp_path / "weed")
    server.workdir.mkdir()
    try:
        yield server
    finally:
        server.stop()


async def test_storage_down_during_upload_is_retried_and_the_job_stored(
    origin: Origin,
    events: JetStreamEvents,
    run_downloader: RunDownloader,
    nats_settings: NatsSettings,
    seaweed: SeaweedServer,
    sample_mp4: bytes,
) -> None:
    storage = StorageSettings(backend="s3", s3=seaweed.settings)
    path = "/during-outage.mp4"
    event = output_ready(origin.serve(path, Route(sample_mp4)))

    async with run_downloader(
        storage=storage,
        nats=nats_settings.model_copy(update={"max_deliver": 30}),
        storage_attempts=5,
        retry_max_delay=1.0,
    ):
        await events.publish(event)
        await origin.wait_hits(path, 2)  # a whole delivery failed on storage and came back
        assert await events.events(GenerationStored.subject, event.job_id) == []
        await asyncio.to_thread(seaweed.start)
        async with asyncio.timeout(OUTCOME_WAIT_SECONDS):
            while not (found := await events.events(GenerationStored.subject, event.job_id)):
                assert await events.events(GenerationFailed.subject, event.job_id) == []
                await asyncio.sleep(0.2)
        await events.wait_settled()

    [stored] = found
    assert isinstance(stored, GenerationStored)
    [asset] = stored.assets
    assert asset.sha256 == hashlib.sha256(sample_mp4).hexdigest()
    assert await read_object(storage, asset.key) == sample_mp4
    assert await asyncio.to_thread(stored_keys, storage, f"outputs/{event.job_id}/") == [asset.key]
