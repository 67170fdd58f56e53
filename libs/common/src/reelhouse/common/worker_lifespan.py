"""The lifespan of a worker's HTTP side: run its consumers, watch the broker, say when ready.

A worker (dispatcher, downloader) is one uvicorn process: a Starlette app serves its health,
metrics (and, for the dispatcher, webhooks) and its lifespan runs the FastStream app. Ready
means the consumers are bound and JetStream answers a bounded round trip; shutting down, it is
unready first, then the consumers stop (a message in flight finishes or goes back unacked).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from faststream import FastStream
from faststream.nats import NatsBroker
from starlette.applications import Starlette

from reelhouse.common.brokerwatch import BrokerWatch, subscribers_bound
from reelhouse.common.health import Readiness

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


def worker_lifespan(
    consumers: FastStream, *, service: str, stream: str, durables: Sequence[str]
) -> tuple[Readiness, Lifespan]:
    """The readiness (for ``health_routes``) and the Starlette lifespan of a worker."""
    broker = consumers.broker
    if not isinstance(broker, NatsBroker):
        raise TypeError(f"{service}: the consumers need a NatsBroker, got {type(broker).__name__}")
    watch = BrokerWatch(broker, service=service, stream=stream, consumers=durables)
    readiness = Readiness()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with consumers.lifespan_context():
            await consumers.start()
            watch.start()
            readiness.set([watch.check(), subscribers_bound(broker)])
            try:
                yield
            finally:
                readiness.clear()
                await watch.stop()
                await consumers.stop()

    return readiness, lifespan
