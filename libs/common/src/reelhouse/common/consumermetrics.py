"""Metrics on the consumer side of every broker: FastStream's, and our redelivery count.

``instrument_broker(broker, service=…)`` adds, before any subscriber starts:

- FastStream's ``NatsPrometheusMiddleware`` on the default registry (prefix ``faststream_``,
  label ``app_name`` = the service): messages received, processed by status, durations,
  sizes, exceptions, and messages published;
- ``reelhouse_redeliveries_total{service, consumer}``: a message whose JetStream delivery
  count is above 1 (a retry after a nak, an ack timeout or a crashed worker).
"""

from __future__ import annotations

from typing import Any

from faststream import BaseMiddleware
from faststream._internal.basic_types import AsyncFuncAny
from faststream._internal.context.repository import ContextRepo
from faststream.message import StreamMessage
from faststream.nats import NatsBroker
from faststream.nats.prometheus import NatsPrometheusMiddleware
from nats.aio.msg import Msg
from prometheus_client import REGISTRY

from reelhouse.common.metrics import REDELIVERIES

# the reply subject of a JetStream delivery: $JS.ACK.<stream>.<consumer>.<delivered>.…
JS_ACK_PREFIX = "$JS.ACK."


class RedeliveryCounter(BaseMiddleware):
    def __init__(self, msg: Any, /, *, context: ContextRepo, service: str) -> None:
        super().__init__(msg, context=context)
        self.service = service

    async def consume_scope(self, call_next: AsyncFuncAny, msg: StreamMessage[Any]) -> Any:
        raw = msg.raw_message
        # core NATS messages (TestNatsBroker, request replies) carry no delivery count
        if isinstance(raw, Msg) and raw.reply and raw.reply.startswith(JS_ACK_PREFIX):
            metadata = raw.metadata
            if metadata.num_delivered > 1:
                REDELIVERIES.labels(self.service, metadata.consumer or "").inc()
        return await call_next(msg)


class RedeliveryMiddleware:
    """The middleware factory FastStream calls once per message."""

    def __init__(self, *, service: str) -> None:
        self.service = service

    def __call__(self, msg: Any, /, *, context: ContextRepo) -> RedeliveryCounter:
        return RedeliveryCounter(msg, context=context, service=self.service)


def instrument_broker(broker: NatsBroker, *, service: str) -> None:
    broker.add_middleware(NatsPrometheusMiddleware(registry=REGISTRY, app_name=service))
    broker.add_middleware(RedeliveryMiddleware(service=service))
