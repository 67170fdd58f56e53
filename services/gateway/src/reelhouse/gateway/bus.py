"""The gateway's NATS connection: started in the background so the API serves without it.

While NATS is unreachable the gateway still accepts jobs (the outbox keeps them);
once connected, the stream and the projector's consumer are ensured and its subscriber starts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import structlog
from faststream.nats import ConsumerConfig, NatsBroker
from faststream.types import BrokerMiddleware
from nats.aio.client import Client

from reelhouse.common.broker import build_broker
from reelhouse.common.consumermetrics import instrument_broker
from reelhouse.common.settings import NatsSettings
from reelhouse.common.streams import ensure_stream

log = structlog.get_logger(__name__)

STOP_TIMEOUT_SECONDS = 5.0
SETUP_RETRY_SECONDS = 1.0


class Bus:
    def __init__(
        self,
        settings: NatsSettings,
        *,
        name: str,
        middlewares: Sequence[BrokerMiddleware[Any, Any]] = (),
        consumers: Sequence[ConsumerConfig] = (),
    ) -> None:
        self.settings = settings
        # durable consumers created, or updated to this configuration, before subscribing
        self._consumers = consumers
        self.broker: NatsBroker = build_broker(settings, name=name, middlewares=middlewares)
        instrument_broker(self.broker, service=name)
        self._client: Client | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """True once set up, while the connection is up (it reconnects on its own)."""
        return self._ready.is_set() and self._client is not None and self._client.is_connected

    async def start(self, *, wait_seconds: float) -> None:
        """Connect in the background; wait up to ``wait_seconds`` for it, then carry on."""
        self._task = asyncio.create_task(self._connect(), name="gateway-nats-connect")
        try:
            await asyncio.wait_for(asyncio.shield(self._ready.wait()), timeout=wait_seconds)
        except TimeoutError:
            log.warning("nats.unavailable_at_start", url=self.settings.url, waited=wait_seconds)

    async def _connect(self) -> None:
        try:
            # build_broker reconnects forever: this returns once NATS answers
            self._client = await self.broker.connect()
        except Exception as exc:
            log.error("nats.connect_failed", url=self.settings.url, error=repr(exc))
            raise
        while True:
            try:
                js = self._client.jetstream()
                await ensure_stream(js, self.settings)
                for consumer in self._consumers:
                    # create or update: a consumer an older version made gets today's filter
                    await js.add_consumer(self.settings.stream, config=consumer)
                await self.broker.start()
                break
            except Exception as exc:
                log.warning("nats.setup_failed", error=repr(exc), retry_in=SETUP_RETRY_SECONDS)
                await asyncio.sleep(SETUP_RETRY_SECONDS)
        self._ready.set()
        log.info("nats.connected", url=self.settings.url, stream=self.settings.stream)

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        try:
            await asyncio.wait_for(self.broker.stop(), timeout=STOP_TIMEOUT_SECONDS)
        except Exception as exc:
            log.warning("nats.stop_failed", error=repr(exc))
            if self._client is not None and not self._client.is_closed:
                with contextlib.suppress(Exception):
                    await self._client.close()
