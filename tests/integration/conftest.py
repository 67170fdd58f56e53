"""Fixtures shared by the workers' integration tests (downloader, assembler): NATS settings with a
short ack wait, and the stream read back event by event."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from reelhouse.common.settings import NatsSettings
from tests.integration.downloader.observations import JetStreamEvents


@pytest.fixture
def nats_settings(nats_url: str) -> NatsSettings:
    # short ack wait so a lost delivery comes back quickly; heartbeats keep long work alive
    return NatsSettings(url=nats_url, ack_wait_seconds=3.0, max_deliver=4)


@pytest.fixture
async def events(nats_settings: NatsSettings) -> AsyncIterator[JetStreamEvents]:
    observed = await JetStreamEvents.connect(nats_settings)
    try:
        yield observed
    finally:
        await observed.close()
