"""The downloader's HTTP side: health and metrics next to the consumer, in one process.

``build_server(settings)`` is a small Starlette app whose lifespan runs the FastStream app
of ``build_app`` (the same arrangement as the dispatcher), so one uvicorn process serves
``/livez``, ``/readyz``, ``/healthz`` and ``/metrics`` on ``REELHOUSE_HTTP__HOST``/``PORT``
(127.0.0.1:8003 by default) while the worker pulls. On SIGTERM uvicorn stops the HTTP side
and the lifespan stops the broker: its subscriber stops pulling, and a message in flight
finishes, or goes back to JetStream unacknowledged and is redelivered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from faststream import FastStream
from faststream.nats import NatsBroker
from starlette.applications import Starlette

from reelhouse.common.brokerwatch import BrokerWatch, subscribers_bound
from reelhouse.common.health import Readiness, health_routes
from reelhouse.common.metrics import HttpMetricsMiddleware
from reelhouse.downloader.app import build_app
from reelhouse.downloader.handlers import DURABLE
from reelhouse.downloader.settings import Settings

SERVICE = "downloader"


def build_server(
    settings: Settings, *, consumers: FastStream | None = None
) -> HttpMetricsMiddleware:
    """The downloader as one ASGI app; ``consumers`` replaces ``build_app(settings)`` in tests."""
    worker = consumers or build_app(settings)
    broker = worker.broker
    assert isinstance(broker, NatsBroker)
    watch = BrokerWatch(broker, service=SERVICE, stream=settings.nats.stream, consumers=(DURABLE,))
    readiness = Readiness()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with worker.lifespan_context():
            await worker.start()
            watch.start()
            readiness.set([watch.check(), subscribers_bound(broker)])
            try:
                yield
            finally:
                readiness.clear()
                await watch.stop()
                await worker.stop()

    app = Starlette(routes=health_routes(readiness), lifespan=lifespan)
    return HttpMetricsMiddleware(app, service=SERVICE)
