"""The composition root: ``build_app(settings)`` wires broker, providers and handlers.

Nothing connects here; the broker connects when the app starts, then the
dispatch-record bucket is declared, then the consumers start pulling.
"""

from __future__ import annotations

import logging

import structlog
from faststream import FastStream

from reelhouse.common.broker import build_broker
from reelhouse.dispatcher.handlers import SERVICE_CONTEXT_KEY, build_router
from reelhouse.dispatcher.providers.registry import build_registry
from reelhouse.dispatcher.records import DispatchRecords
from reelhouse.dispatcher.service import DispatchService
from reelhouse.dispatcher.settings import Settings

log = structlog.get_logger(__name__)


def build_app(settings: Settings) -> FastStream:
    broker = build_broker(settings.nats, name="reelhouse-dispatcher")
    broker.include_router(build_router(settings))
    registry = build_registry(settings.providers)
    records = DispatchRecords(
        broker, bucket=settings.dispatch_bucket, ttl_seconds=settings.dispatch_record_ttl_seconds
    )
    service = DispatchService(
        broker=broker,
        registry=registry,
        records=records,
        poll_interval_seconds=settings.poll_interval_seconds,
        stream=settings.nats.stream,
    )

    async def prepare() -> None:
        await broker.connect()
        await records.ensure_ready()
        log.info("dispatcher.ready", providers=registry.names, nats=settings.nats.url)

    async def close() -> None:
        await registry.aclose()

    app = FastStream(
        broker,
        # a plain stdlib logger: its lines go through configure_logging's structlog formatter
        logger=logging.getLogger("reelhouse.dispatcher.app"),
        on_startup=[prepare],
        after_shutdown=[close],
    )
    app.context.set_global(SERVICE_CONTEXT_KEY, service)
    return app
