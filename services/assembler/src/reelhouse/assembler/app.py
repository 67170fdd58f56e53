"""Composition root: ``build_app(settings)`` wires broker, object store, film function and handler."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from faststream import FastStream
from faststream.annotations import ContextRepo
from opentelemetry.sdk.trace import TracerProvider

from reelhouse.assembler.assembly import TEMP_PREFIX, Assembler, Limits
from reelhouse.assembler.filmmaker import FilmMaker, default_film_maker
from reelhouse.assembler.finishing import FilmLimits
from reelhouse.assembler.handlers import DURABLE, subscribe
from reelhouse.assembler.settings import Settings
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

log = structlog.get_logger(__name__)

SERVICE = "assembler"


def build_limits(settings: Settings) -> Limits:
    return Limits(
        max_scenes=settings.max_scenes,
        max_input_bytes=settings.max_input_bytes,
        film=FilmLimits(
            max_seconds=settings.max_film_seconds,
            max_bytes=settings.max_film_bytes,
            poster_width=settings.poster_width,
            poster_scan_seconds=settings.poster_scan_seconds,
        ),
        storage_attempts=settings.storage_attempts,
    )


async def _prepare_store(store: ObjectStore) -> None:
    """Create the bucket if we can; an unreachable store only delays work (messages come back)."""
    try:
        await store.ensure_ready()
    except StorageUnavailableError as exc:
        log.warning("assembly.storage_not_ready", error=str(exc))


def _sweep(temp_dir: Path) -> int:
    """Remove the folders of assemblies a killed process left behind (one process per temp
    directory owns it: replicas do not share one)."""
    swept = 0
    for folder in temp_dir.glob(f"{TEMP_PREFIX}*"):
        shutil.rmtree(folder, ignore_errors=True)
        swept += 1
    return swept


async def _prepare_temp_dir(settings: Settings) -> Path | None:
    if settings.temp_dir is None:
        return None
    await asyncio.to_thread(settings.temp_dir.mkdir, parents=True, exist_ok=True)
    swept = await asyncio.to_thread(_sweep, settings.temp_dir)
    if swept:
        log.info("assembly.swept_stale_folders", count=swept, temp_dir=str(settings.temp_dir))
    return settings.temp_dir


def build_app(
    settings: Settings,
    *,
    film_maker: FilmMaker | None = None,
    film_error: type[Exception] | None = None,
    store: ObjectStore | None = None,
    tracer_provider: TracerProvider | None = None,
) -> FastStream:
    """The assembler. Tests pass ``film_maker``/``film_error`` (a stand-in film function),
    ``store`` (a store of their own) and ``tracer_provider``; by default the real
    ``reelhouse.assembler.film.assemble_film`` and the store ``settings.storage`` describes."""
    if film_maker is None:
        film_maker, film_error = default_film_maker()
    elif film_error is None:
        # every other exception is a bug or a transient trouble, never a refused scene
        raise TypeError("build_app: pass film_error, the error film_maker refuses a scene with")
    owns_tracing = tracer_provider is None
    tracing = (
        configure_tracing(settings.tracing, service=SERVICE) if owns_tracing else tracer_provider
    )
    broker = build_broker(
        settings.nats, name="reelhouse-assembler", middlewares=nats_middlewares(tracing)
    )
    instrument_broker(broker, service=SERVICE)
    subscribe(broker, settings)
    make_film, refusal = film_maker, film_error

    @asynccontextmanager
    async def lifespan(context: ContextRepo) -> AsyncIterator[None]:
        objects = store or build_object_store(settings.storage)
        if tracing is not None:
            objects = TracedObjectStore(
                objects, get_tracer(tracing, __name__), backend=settings.storage.backend
            )
        await _prepare_store(objects)
        temp_dir = await _prepare_temp_dir(settings)
        context.set_global(
            "assembler",
            Assembler(
                objects,
                make_film,
                refusal,
                build_limits(settings),
                temp_dir=temp_dir,
            ),
        )
        context.set_global("stream", settings.nats.stream)
        context.set_global("dead_letters", DeadLetters.for_consumer(broker, settings.nats, DURABLE))
        context.set_global("stall_seconds", settings.stall_seconds)
        context.set_global(
            "delivery_policy",
            DeliveryPolicy(
                max_deliver=settings.nats.max_deliver,
                ack_wait_seconds=settings.nats.ack_wait_seconds,
            ),
        )
        log.info(
            "assembly.worker_ready",
            nats=settings.nats.url,
            storage=settings.storage.backend,
            max_scenes=settings.max_scenes,
            max_film_seconds=settings.max_film_seconds,
            concurrency=settings.concurrency,
        )
        yield

    async def stop_tracing() -> None:
        if owns_tracing:
            await shutdown_tracing(tracing)

    # the app's own messages go through the root logger, so they are structured like ours
    return FastStream(
        broker,
        lifespan=lifespan,
        after_shutdown=[stop_tracing],
        logger=logging.getLogger("reelhouse.assembler"),
    )
