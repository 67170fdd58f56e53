"""Fixtures for the gateway: the app with its lifespan over real NATS and SQLite/PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from reelhouse.common.events import Event
from reelhouse.gateway.settings import Settings
from tests.integration.gateway.harness import (
    Gateway,
    event_publisher,
    gateway_settings,
    running_gateway,
)
from tests.support.nats import NatsServer


@pytest.fixture
def settings(database_url: str, nats_server: NatsServer) -> Settings:
    return gateway_settings(database_url=database_url, nats_url=nats_server.url)


@pytest.fixture
async def gateway(settings: Settings) -> AsyncIterator[Gateway]:
    async with running_gateway(settings) as running:
        yield running


@pytest.fixture
async def publish(nats_server: NatsServer) -> AsyncIterator[Callable[[Event], Awaitable[None]]]:
    async with event_publisher(nats_server.url) as publish_one:
        yield publish_one
