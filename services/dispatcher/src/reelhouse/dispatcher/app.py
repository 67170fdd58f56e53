"""The composition root: ``build_app(settings)`` wires broker, providers, handlers and routes.

The dispatcher is one ASGI app: Starlette serves the provider webhooks (and ``/livez``,
``/readyz``, ``/healthz``, ``/metrics``) and its lifespan runs the FastStream app
(``worker_lifespan``), so one uvicorn process holds both. Nothing connects here; on start-up the broker connects, the
dispatch-record bucket is declared, then the consumers start pulling.
"""

from __future__ import annotations

import logging

import structlog
from faststream import FastStream
from opentelemetry.sdk.trace import TracerProvider
from starlette.applications import Starlette

from reelhouse.common.asgi_tracing import tracing_middleware
from reelhouse.common.broker import build_broker
from reelhouse.common.consumermetrics import instrument_broker
from reelhouse.common.health import health_routes
from reelhouse.common.metrics import HttpMetricsMiddleware
from reelhouse.common.tracing import (
    configure_tracing,
    nats_middlewares,
    shutdown_tracing,
)
from reelhouse.common.worker_lifespan import worker_lifespan
from reelhouse.dispatcher.handlers import (
    DISPATCH_CONSUMER,
    POLL_CONSUMER,
    SERVICE_CONTEXT_KEY,
    build_router,
)
from reelhouse.dispatcher.providers.registry import build_registry
from reelhouse.dispatcher.records import DispatchRecords
from reelhouse.dispatcher.service import DispatchService
from reelhouse.dispatcher.settings import Settings
from reelhouse.dispatcher.webhooks.routes import build_routes
from reelhouse.dispatcher.webhooks.verifiers import build_verifiers

log = structlog.get_logger(__name__)

SERVICE = "dispatcher"


def build_app(
    settings: Settings, *, tracer_provider: TracerProvider | None = None
) -> HttpMetricsMiddleware:
    """The dispatcher; ``tracer_provider`` replaces the one ``settings.tracing`` would make."""
    owns_tracing = tracer_provider is None
    tracing = (
        configure_tracing(settings.tracing, service=SERVICE) if owns_tracing else tracer_provider
    )
    broker = build_broker(
        settings.nats, name="reelhouse-dispatcher", middlewares=nats_middlewares(tracing)
    )
    instrument_broker(broker, service=SERVICE)
    broker.include_router(build_router(settings))
    registry = build_registry(settings.providers, tracer_provider=tracing)
    records = DispatchRecords(
        broker, bucket=settings.dispatch_bucket, ttl_seconds=settings.dispatch_record_ttl_seconds
    )
    service = DispatchService.from_settings(
        settings, broker=broker, registry=registry, records=records
    )

    async def prepare() -> None:
        await broker.connect()
        await records.ensure_ready()
        log.info(
            "dispatcher.ready",
            providers=registry.names,
            nats=settings.nats.url,
            webhooks=settings.webhook_base_url,
        )

    async def close() -> None:
        await registry.aclose()
        if owns_tracing:
            await shutdown_tracing(tracing)

    consumers = FastStream(
        broker,
        # a plain stdlib logger: its lines go through configure_logging's structlog formatter
        logger=logging.getLogger("reelhouse.dispatcher.app"),
        on_startup=[prepare],
        after_shutdown=[close],
    )
    consumers.context.set_global(SERVICE_CONTEXT_KEY, service)

    async def trigger(provider: str, job_id: str, request_id: str, token: str) -> bool:
        return await service.webhook_arrived(
            provider=provider, job_id=job_id, request_id=request_id, token=token
        )

    readiness, lifespan = worker_lifespan(
        consumers,
        service=SERVICE,
        stream=settings.nats.stream,
        durables=(DISPATCH_CONSUMER, POLL_CONSUMER),
    )

    routes = [
        *health_routes(readiness),
        *build_routes(build_verifiers(settings, registry), trigger),
    ]
    starlette = Starlette(
        routes=routes, middleware=tracing_middleware(tracing, routes), lifespan=lifespan
    )
    return HttpMetricsMiddleware(starlette, service=SERVICE)
