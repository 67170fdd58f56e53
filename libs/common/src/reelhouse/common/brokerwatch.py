"""Does NATS answer, and how far behind are our consumers? A bounded round trip says.

``is_connected`` stays true for minutes after a broker stopped answering (a SIGSTOPped
or wedged ``nats-server`` keeps its sockets open). So the health of the broker is a
JetStream API request with a timeout: ``CONSUMER.INFO`` for each durable consumer of
the service (which also yields its lag), or ``INFO`` when it has none. The answer
feeds the readiness checks and the gauges ``reelhouse_broker_up``,
``reelhouse_consumer_pending_messages`` and ``reelhouse_consumer_ack_pending_messages``,
refreshed in the background so a scrape sees them even when nobody asks ``/readyz``.

(``Client.flush(timeout)`` would be a round trip too, but nats-py then resolves a
cancelled future when the late PONG arrives, which breaks its read loop.)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog
from faststream.nats import NatsBroker
from nats.aio.client import Client

from reelhouse.common.health import Check
from reelhouse.common.metrics import BROKER_UP, CONSUMER_ACK_PENDING, CONSUMER_PENDING

log = structlog.get_logger(__name__)

# below the readiness check's own bound (2 s), so a hung broker is reported as such
ROUND_TRIP_TIMEOUT_SECONDS = 1.5
WATCH_INTERVAL_SECONDS = 10.0


class BrokerUnavailableError(Exception):
    """NATS is not connected, or JetStream did not answer in time."""


def connected_client(broker: NatsBroker) -> Client:
    try:
        client = broker.connection
    except Exception as exc:  # FastStream's IncorrectState before the first connection
        raise BrokerUnavailableError("not connected yet") from exc
    if not client.is_connected:
        raise BrokerUnavailableError("disconnected (reconnecting)")
    return client


def subscribers_bound(broker: NatsBroker) -> Check:
    """Ready when every subscriber of the broker has started (its consumer is bound)."""

    async def probe() -> None:
        subscribers = broker.subscribers
        idle = sum(1 for sub in subscribers if not sub.running)
        if not subscribers or idle:
            raise BrokerUnavailableError(f"{idle} of {len(subscribers)} subscribers not running")

    return Check("consumers", probe)


class BrokerWatch:
    def __init__(
        self,
        broker: NatsBroker,
        *,
        service: str,
        stream: str,
        consumers: Sequence[str] = (),
        timeout: float = ROUND_TRIP_TIMEOUT_SECONDS,
        interval: float = WATCH_INTERVAL_SECONDS,
    ) -> None:
        self.broker = broker
        self.service = service
        self.stream = stream
        self.consumers = tuple(consumers)
        self.timeout = timeout
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
        self._up: bool | None = None
        # probes overlap (the background refresh and /readyz): only the answer of the latest
        # one started counts, so a round trip sent before an outage and answered late never
        # reports a broker that has since gone as up
        self._started = 0
        self._applied = 0

    async def probe(self) -> None:
        """One bounded round trip to JetStream; raises when it does not answer in time."""
        self._started += 1
        number = self._started
        try:
            await self._ask()
        except BaseException as exc:  # cancelled by an outer bound too: not answering
            self._record(number, up=False, error=repr(exc))
            raise
        self._record(number, up=True)

    def _record(self, number: int, *, up: bool, error: str | None = None) -> None:
        if number < self._applied:
            return  # a later probe has already said how the broker is
        self._applied = number
        BROKER_UP.labels(self.service).set(1 if up else 0)
        self._note(up=up, error=error)

    async def _ask(self) -> None:
        js = connected_client(self.broker).jetstream(timeout=self.timeout)
        async with asyncio.timeout(self.timeout):
            if not self.consumers:
                await js.account_info()
            for durable in self.consumers:
                info = await js.consumer_info(self.stream, durable, timeout=self.timeout)
                CONSUMER_PENDING.labels(self.service, durable).set(info.num_pending or 0)
                CONSUMER_ACK_PENDING.labels(self.service, durable).set(info.num_ack_pending or 0)

    def _note(self, *, up: bool, error: str | None = None) -> None:
        """Log when the broker's state changes, not on every probe."""
        if up == self._up:
            return
        self._up = up
        if up:
            log.info("broker.answering", service=self.service)
        else:
            log.warning("broker.not_answering", service=self.service, error=error)

    def check(self, *, required: bool = True) -> Check:
        return Check("nats", self.probe, required=required)

    def start(self) -> None:
        """Refresh the gauges every ``interval`` seconds until ``stop``."""
        BROKER_UP.labels(self.service).set(0)
        self._task = asyncio.create_task(self._run(), name=f"{self.service}-broker-watch")

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # probe() logged and counted the failure
                await self.probe()
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
