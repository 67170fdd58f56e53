"""The downloader's HTTP side: health and metrics next to the consumer, in one process.

``build_server(settings)`` is a small Starlette app whose lifespan runs the FastStream app
of ``build_app`` (the same arrangement as the dispatcher), so one uvicorn process serves
``/livez``, ``/readyz``, ``/healthz`` and ``/metrics`` on ``REELHOUSE_HTTP__HOST``/``PORT``
(127.0.0.1:8003 by default) while the worker pulls. On SIGTERM uvicorn stops the HTTP side
and the lifespan stops the broker: its subscriber stops pulling, and a message in flight
finishes, or goes back to JetStream unacknowledged and is redelivered.
"""

from __future__ import annotations

from faststream import FastStream
from starlette.applications import Starlette

from reelhouse.common.health import health_routes
from reelhouse.common.metrics import HttpMetricsMiddleware
from reelhouse.common.worker_lifespan import worker_lifespan
from reelhouse.downloader.app import build_app
from reelhouse.downloader.handlers import DURABLE
from reelhouse.downloader.settings import Settings

SERVICE = "downloader"


def build_server(
    settings: Settings, *, consumers: FastStream | None = None
) -> HttpMetricsMiddleware:
    """The downloader as one ASGI app; ``consumers`` replaces ``build_app(settings)`` in tests."""
    readiness, lifespan = worker_lifespan(
        consumers or build_app(settings),
        service=SERVICE,
        stream=settings.nats.stream,
        durables=(DURABLE,),
    )
    app = Starlette(routes=health_routes(readiness), lifespan=lifespan)
    return HttpMetricsMiddleware(app, service=SERVICE)
