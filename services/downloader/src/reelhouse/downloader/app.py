"""Composition root: ``build_app(settings)`` wires broker, HTTP session, object store and handler."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from aiohttp.abc import AbstractResolver
from faststream import FastStream
from faststream.annotations import ContextRepo
from opentelemetry.instrumentation.aiohttp_client import create_trace_config
from opentelemetry.sdk.trace import TracerProvider

from reelhouse.common.broker import build_broker
from reelhouse.common.consumermetrics import instrument_broker
from reelhouse.common.deadletter import DeadLetters
from reelhouse.common.delivery import DeliveryPolicy
from reelhouse.common.storage import ObjectStore, StorageUnavailableError, build_object_store
from reelhouse.common.traced_storage import TracedObjectStore
from reelhouse.common.tracing import (
    configure_tracing,
    get_tracer,
    nats_middlewares,
    shutdown_tracing,
)
from reelhouse.downloader.fetch import Fetcher, FetchLimits, SocketFactory, build_session
from reelhouse.downloader.guard import UrlGuard
from reelhouse.downloader.handlers import DURABLE, subscribe
from reelhouse.downloader.ingest import Finishing, Ingestor, sweep_stale_downloads
from reelhouse.downloader.retry import RetryPolicy
from reelhouse.downloader.settings import Settings

log = structlog.get_logger(__name__)

SERVICE = "downloader"

# where temp files cannot be locked: a partial download untouched this long past the transfer
# cap belongs to a dead worker
STALE_MARGIN_SECONDS = 3600.0


def build_guard(settings: Settings) -> UrlGuard:
    return UrlGuard.build(
        allowed_schemes=settings.allowed_schemes,
        allow_loopback=settings.allow_loopback,
        allowed_networks=settings.allowed_networks,
        allowed_hosts=settings.allowed_hosts,
    )


def build_limits(settings: Settings) -> FetchLimits:
    return FetchLimits(
        max_bytes=settings.max_bytes,
        max_redirects=settings.max_redirects,
        total_timeout=settings.total_timeout,
        retry=RetryPolicy(
            attempts=settings.fetch_attempts,
            base_delay=settings.retry_base_delay,
            max_delay=settings.retry_max_delay,
        ),
    )


def build_finishing(settings: Settings) -> Finishing:
    return Finishing(
        poster_width=settings.poster_width,
        poster_scan_seconds=settings.poster_scan_seconds,
        store_retry=RetryPolicy(
            attempts=settings.storage_attempts,
            base_delay=settings.retry_base_delay,
            max_delay=settings.retry_max_delay,
        ),
    )


async def _prepare_store(store: ObjectStore) -> None:
    """Create the bucket if we can; an unreachable store only delays work (jobs are retried)."""
    try:
        await store.ensure_ready()
    except StorageUnavailableError as exc:
        log.warning("download.storage_not_ready", error=str(exc))


async def _prepare_temp_dir(settings: Settings) -> Path:
    """The directory for partial downloads, cleared of files a killed worker left behind."""
    temp_dir = settings.temp_dir or Path(tempfile.gettempdir())
    await asyncio.to_thread(temp_dir.mkdir, parents=True, exist_ok=True)
    older_than = settings.total_timeout + STALE_MARGIN_SECONDS
    swept = await asyncio.to_thread(sweep_stale_downloads, temp_dir, older_than=older_than)
    if swept:
        log.info("download.swept_stale_files", count=swept, temp_dir=str(temp_dir))
    return temp_dir


def build_app(
    settings: Settings,
    *,
    resolver: AbstractResolver | None = None,
    socket_factory: SocketFactory | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastStream:
    """The downloader; ``resolver`` and ``socket_factory`` replace DNS and sockets in tests,
    ``tracer_provider`` the one ``settings.tracing`` would make."""
    owns_tracing = tracer_provider is None
    tracing = (
        configure_tracing(settings.tracing, service=SERVICE) if owns_tracing else tracer_provider
    )
    broker = build_broker(
        settings.nats, name="reelhouse-downloader", middlewares=nats_middlewares(tracing)
    )
    instrument_broker(broker, service=SERVICE)
    subscribe(broker, settings)
    guard = build_guard(settings)

    @asynccontextmanager
    async def lifespan(context: ContextRepo) -> AsyncIterator[None]:
        store = build_object_store(settings.storage)
        if tracing is not None:
            store = TracedObjectStore(
                store, get_tracer(tracing, __name__), backend=settings.storage.backend
            )
        await _prepare_store(store)
        temp_dir = await _prepare_temp_dir(settings)
        session = build_session(
            guard,
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            limit=max(4, 2 * settings.concurrency),
            resolver=resolver,
            socket_factory=socket_factory,
            trace_configs=(
                None if tracing is None else [create_trace_config(tracer_provider=tracing)]
            ),
        )
        async with session:
            fetcher = Fetcher(session, guard, build_limits(settings))
            context.set_global(
                "ingestor", Ingestor(fetcher, store, temp_dir, build_finishing(settings))
            )
            context.set_global("stream", settings.nats.stream)
            context.set_global(
                "dead_letters", DeadLetters.for_consumer(broker, settings.nats, DURABLE)
            )
            context.set_global(
                "delivery_policy",
                DeliveryPolicy(
                    max_deliver=settings.nats.max_deliver,
                    ack_wait_seconds=settings.nats.ack_wait_seconds,
                ),
            )
            log.info(
                "download.worker_ready",
                nats=settings.nats.url,
                storage=settings.storage.backend,
                max_bytes=settings.max_bytes,
                schemes=settings.allowed_schemes,
                allow_loopback=settings.allow_loopback,
                allowed_hosts=settings.allowed_hosts,
            )
            yield

    # the app's own messages go through the root logger, so they are structured like ours
    async def stop_tracing() -> None:
        if owns_tracing:
            await shutdown_tracing(tracing)

    return FastStream(
        broker,
        lifespan=lifespan,
        after_shutdown=[stop_tracing],
        logger=logging.getLogger("reelhouse.downloader"),
    )
