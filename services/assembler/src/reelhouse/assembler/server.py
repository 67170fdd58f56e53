"""The assembler's HTTP side: health and metrics next to the consumer, in one process.

``build_server(settings)`` is a small Starlette app whose lifespan runs the FastStream app of
``build_app`` (as the downloader does), so one uvicorn process serves ``/livez``,
``/readyz``, ``/healthz`` and ``/metrics`` on ``REELHOUSE_HTTP__HOST``/``PORT``
(127.0.0.1:8004 by default) while the worker pulls. On SIGTERM a film in flight finishes, or
goes back to JetStream unacknowledged and is assembled again elsewhere.
"""

from __future__ import annotations

from faststream import FastStream
from starlette.applications import Starlette

from reelhouse.assembler.app import build_app
from reelhouse.assembler.handlers import DURABLE
from reelhouse.assembler.settings import Settings
from reelhouse.common.health import health_routes
from reelhouse.common.metrics import HttpMetricsMiddleware
from reelhouse.common.worker_lifespan import worker_lifespan

SERVICE = "assembler"


def build_server(
    settings: Settings, *, consumers: FastStream | None = None
) -> HttpMetricsMiddleware:
    """The assembler as one ASGI app; ``consumers`` replaces ``build_app(settings)`` in tests."""
    readiness, lifespan = worker_lifespan(
        consumers or build_app(settings),
        service=SERVICE,
        stream=settings.nats.stream,
        durables=(DURABLE,),
    )
    app = Starlette(routes=health_routes(readiness), lifespan=lifespan)
    return HttpMetricsMiddleware(app, service=SERVICE)
