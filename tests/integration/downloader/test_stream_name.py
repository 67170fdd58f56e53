"""The downloader publishes to the stream its settings name (``REELHOUSE_NATS__STREAM``)."""

from __future__ import annotations

import pytest

from reelhouse.common.events import GenerationFailed, GenerationStored
from reelhouse.common.settings import NatsSettings
from tests.integration.downloader.conftest import RunDownloader
from tests.integration.downloader.jobs import output_ready
from tests.integration.downloader.observations import JetStreamEvents
from tests.integration.downloader.origin import Origin, Route

RENAMED = "MEDIA_JOBS"


@pytest.fixture
def nats_settings(nats_url: str) -> NatsSettings:
    """A stream that is not called REELHOUSE: the only one on this server."""
    return NatsSettings(url=nats_url, stream=RENAMED, ack_wait_seconds=3.0, max_deliver=4)


@pytest.mark.parametrize("storage", ["local"], indirect=True)
async def test_outputs_and_failures_are_published_to_the_configured_stream(
    origin: Origin, events: JetStreamEvents, run_downloader: RunDownloader, sample_mp4: bytes
) -> None:
    stored = output_ready(origin.serve("/out/0.mp4", Route(sample_mp4)))
    failed = output_ready(origin.serve("/out/page", Route(b"<html>no</html>", "text/html")))
    assert events.stream == RENAMED

    async with run_downloader():
        await events.publish(stored)
        await events.publish(failed)
        ok = await events.wait_for((GenerationStored.subject,), stored.job_id)
        not_media = await events.wait_for((GenerationFailed.subject,), failed.job_id)

    assert isinstance(ok, GenerationStored)
    assert len(ok.assets) == 1
    assert isinstance(not_media, GenerationFailed)
    assert not_media.error.code == "not_media"
