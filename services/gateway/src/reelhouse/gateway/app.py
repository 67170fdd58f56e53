"""``build_app(settings)``: the gateway's composition root.

The lifespan creates every client — database engine (after migrating it), NATS
(stream, projector subscription), outbox relay, bootstrap API key — and hands
them to routes through the aliases in ``dependencies.py``.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import structlog
from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.sdk.trace import TracerProvider
from sqlalchemy.ext.asyncio import AsyncEngine

from reelhouse.common.brokerwatch import BrokerWatch
from reelhouse.common.metrics import HttpMetricsMiddleware
from reelhouse.common.signing import UrlSigner
from reelhouse.common.storage import build_object_store
from reelhouse.common.tracing import (
    PROBE_PATHS,
    configure_tracing,
    get_tracer,
    nats_middlewares,
    shutdown_tracing,
)
from reelhouse.gateway.api_docs import install_api_docs
from reelhouse.gateway.auth import routes as key_routes
from reelhouse.gateway.auth.service import BOOTSTRAP_OWNER, ensure_api_key
from reelhouse.gateway.background import stop_loop
from reelhouse.gateway.body_guard import BodyGuardMiddleware
from reelhouse.gateway.bus import Bus
from reelhouse.gateway.catalog import routes as catalog_routes
from reelhouse.gateway.catalog.availability import configured_providers
from reelhouse.gateway.catalog.loader import CatalogModel, load_catalog
from reelhouse.gateway.catalog.uris import UriPolicy
from reelhouse.gateway.compositions import routes as composition_routes
from reelhouse.gateway.compositions.assembly import DURABLE as ANSWERS_DURABLE
from reelhouse.gateway.compositions.assembly import answers_consumer, register_answers
from reelhouse.gateway.compositions.openapi_schema import describe_compositions
from reelhouse.gateway.cors import OptionsMiddleware
from reelhouse.gateway.costs import routes as usage_routes
from reelhouse.gateway.db.engine import create_engine, create_sessionmaker
from reelhouse.gateway.db.migrate import run_migrations
from reelhouse.gateway.dependencies import Services
from reelhouse.gateway.health import router as health_router
from reelhouse.gateway.jobs import admin_routes, retry_routes
from reelhouse.gateway.jobs import routes as job_routes
from reelhouse.gateway.json_body import JsonBodyMiddleware
from reelhouse.gateway.live import routes as live_routes
from reelhouse.gateway.live.hub import LiveHub
from reelhouse.gateway.live.notices import NoticePublisher, register_notices
from reelhouse.gateway.media_urls import MediaUrls
from reelhouse.gateway.openapi import install_openapi
from reelhouse.gateway.outbox.relay import OutboxRelay
from reelhouse.gateway.problems import install_problem_handlers
from reelhouse.gateway.projector import DURABLE, projector_consumer, register_projector
from reelhouse.gateway.settings import Settings
from reelhouse.gateway.submit_schema import describe_submit
from reelhouse.gateway.uploads import routes as upload_routes
from reelhouse.gateway.uploads.receive import FORM_OVERHEAD_BYTES
from reelhouse.gateway.uploads.sweep import start_sweeper
from reelhouse.gateway.web.routes import install_web
from reelhouse.gateway.webhooks import routes as webhook_routes
from reelhouse.gateway.webhooks.lifecycle import start_webhooks

log = structlog.get_logger(__name__)

SERVICE = "gateway"
VERSION = "0.1.0"


# bound on each step of shutdown: a stuck step must not keep the process alive
SHUTDOWN_STEP_SECONDS = 5.0
UPLOADS_PATH = "/v1/uploads"


async def _stop_relay(relay: OutboxRelay, task: asyncio.Task[None]) -> None:
    await stop_loop(
        relay.request_stop, task, seconds=SHUTDOWN_STEP_SECONDS, timeout_event="outbox.stop_timeout"
    )


async def _dispose(engine: AsyncEngine) -> None:
    try:
        await asyncio.wait_for(engine.dispose(), timeout=SHUTDOWN_STEP_SECONDS)
    except TimeoutError:
        log.warning("db.dispose_timeout", after=SHUTDOWN_STEP_SECONDS)


def _describe_bodies(
    document: dict[str, Any], *, models: list[CatalogModel], max_deadline_seconds: int
) -> None:
    """The submit bodies in OpenAPI as exactly what the gateway accepts, model by model."""
    describe_submit(document, models=models, max_deadline_seconds=max_deadline_seconds)
    describe_compositions(document, models=models, max_deadline_seconds=max_deadline_seconds)


def build_app(settings: Settings, *, tracer_provider: TracerProvider | None = None) -> FastAPI:
    """The gateway; ``tracer_provider`` replaces the one ``settings.tracing`` would make (tests)."""
    owns_tracing = tracer_provider is None
    tracing = (
        configure_tracing(settings.tracing, service=SERVICE) if owns_tracing else tracer_provider
    )
    signer = UrlSigner(settings.signing.require_keys(), settings.signing.active_key_id)
    # a broken operator catalogue file fails here, naming the file (CatalogError)
    catalog = load_catalog(settings.catalog_paths).configured(
        providers=configured_providers(settings.configured_providers, os.environ),
        uri_policy=UriPolicy(
            data_uri_max_bytes=settings.input_data_uri_max_bytes,
            allow_http=settings.input_allow_http_uris,
        ),
    )
    # SSE streams; closed when the server starts shutting down (``serve(on_shutdown=…)``)
    hub = LiveHub(max_streams_per_owner=settings.sse.max_streams_per_owner)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if owns_tracing:
                stack.push_async_callback(shutdown_tracing, tracing)
            engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
            stack.push_async_callback(_dispose, engine)
            await run_migrations(engine)
            sessions = create_sessionmaker(engine)
            if settings.bootstrap_api_key is not None:
                await ensure_api_key(
                    sessions,
                    key=settings.bootstrap_api_key.get_secret_value(),
                    owner_id=BOOTSTRAP_OWNER,
                    name="bootstrap",
                )

            media_urls = MediaUrls(
                signer=signer,
                base_url=settings.media_base_url,
                ttl_seconds=settings.signing.url_ttl_seconds,
            )
            store = build_object_store(settings.storage)
            start_sweeper(stack, sessions=sessions, store=store, settings=settings.uploads)
            webhooks = await start_webhooks(
                stack, settings=settings, sessions=sessions, media_urls=media_urls
            )
            bus = Bus(
                settings.nats,
                name=SERVICE,
                middlewares=nats_middlewares(tracing),
                consumers=(
                    [projector_consumer(settings.nats), answers_consumer(settings.nats)]
                    if settings.projector_enabled
                    else []
                ),
            )
            register_notices(bus.broker, hub)
            notices = NoticePublisher(bus.broker)
            projector = (
                register_projector(
                    bus.broker,
                    sessions=sessions,
                    nats=settings.nats,
                    notify=notices,
                    webhooks=webhooks.recorder,
                )
                if settings.projector_enabled
                else None
            )
            if settings.projector_enabled:
                register_answers(
                    bus.broker,
                    sessions=sessions,
                    nats=settings.nats,
                    notify=notices,
                    webhooks=webhooks.recorder,
                )
            stack.push_async_callback(bus.stop)
            await bus.start(wait_seconds=settings.nats_start_timeout_seconds)

            watch = BrokerWatch(
                bus.broker,
                service=SERVICE,
                stream=settings.nats.stream,
                consumers=(DURABLE, ANSWERS_DURABLE),
            )
            watch.start()
            stack.push_async_callback(watch.stop)

            relay = OutboxRelay(
                sessions=sessions,
                bus=bus,
                settings=settings.outbox,
                tracer=get_tracer(tracing, __name__),
                limit_for=settings.limits.max_active_jobs_for,
                holds=settings.limits.limits_concurrency,
                notify=notices,
            )
            if projector is not None:
                projector.on_outbox = relay.wake
            if projector is not None and settings.limits.limits_concurrency:
                # a job that moved may make room under a concurrency limit: release held rows
                # now (without limits, a pass per projected event would find nothing to do)
                projector.on_change = relay.wake
            relay_task = asyncio.create_task(relay.run(), name="gateway-outbox-relay")
            stack.push_async_callback(_stop_relay, relay, relay_task)

            app.state.services = Services(
                settings=settings,
                engine=engine,
                sessions=sessions,
                catalog=catalog,
                media_urls=media_urls,
                bus=bus,
                relay=relay,
                watch=watch,
                hub=hub,
                webhook_box=webhooks.box,
                webhook_worker=webhooks.worker,
                webhook_recorder=webhooks.recorder,
                store=store,
            )
            log.info(
                "gateway.started",
                nats=bus.connected,
                models=len(catalog),
                catalog_files=[str(p) for p in settings.catalog_paths],
            )
            yield
            log.info("gateway.stopping")
            hub.close()

    app = FastAPI(
        title="reelhouse gateway",
        version=VERSION,
        description=(
            "Submit AI video and image generations, follow them, and fetch the stored "
            "results through short-lived signed media URLs. Errors are RFC 9457 problem details."
        ),
        lifespan=lifespan,
        # served from the installed package by install_api_docs (no CDN); no ReDoc
        docs_url=None,
        redoc_url=None,
        openapi_tags=[
            {"name": "generations", "description": "Generation jobs"},
            {"name": "models", "description": "The model catalogue"},
            {"name": "keys", "description": "API keys and their scopes (admin)"},
            {"name": "webhooks", "description": "Signed webhooks to your endpoint"},
            {"name": "uploads", "description": "Images and videos for generation inputs"},
            {"name": "operations", "description": "Probes"},
        ],
    )
    app.add_middleware(JsonBodyMiddleware)
    app.add_middleware(
        BodyGuardMiddleware,
        max_bytes=settings.max_body_bytes,
        # uploads are streamed to disk by their route, within their own limit
        streamed={UPLOADS_PATH: settings.uploads.max_bytes + FORM_OVERHEAD_BYTES},
    )
    app.add_middleware(HttpMetricsMiddleware, service=SERVICE)
    # outermost, so every answer (413s and problems included) carries the CORS headers
    app.add_middleware(OptionsMiddleware, routes=app.router.routes, settings=settings.cors)
    install_problem_handlers(app)
    app.include_router(job_routes.router)
    app.include_router(live_routes.router)
    app.include_router(webhook_routes.router)
    app.include_router(retry_routes.router)
    app.include_router(composition_routes.router)
    app.include_router(upload_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(catalog_routes.router)
    app.include_router(usage_routes.router)
    app.include_router(key_routes.router)
    app.include_router(health_router)
    install_web(app)
    install_api_docs(app)
    install_openapi(
        app,
        describe=functools.partial(
            _describe_bodies,
            # a model this deployment cannot run is refused (`model_unavailable`): not offered
            models=[m for m in catalog if catalog.unavailable_reason(m) is None],
            max_deadline_seconds=settings.max_deadline_seconds,
        ),
    )
    app.state.live_hub = hub
    if tracing is not None:
        FastAPIInstrumentor.instrument_app(
            app,
            tracer_provider=tracing,
            excluded_urls=",".join(PROBE_PATHS),
            exclude_spans=["receive", "send"],
        )
    return app
