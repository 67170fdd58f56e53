"""``build_app(settings)``: the sandbox provider, both protocols, as one Starlette application.

The app serves Replicate's API, the output files, the control endpoints and a health check
on ``http`` (plain HTTP); its lifespan also runs fal's queue API on ``fal_port`` (HTTPS, a
second Starlette app sharing the same predictions, runner and webhook sender).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import structlog
from opentelemetry.sdk.trace import TracerProvider
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from reelhouse.common.asgi_tracing import tracing_middleware
from reelhouse.common.health import Readiness, health_routes
from reelhouse.common.metrics import HttpMetricsMiddleware
from reelhouse.common.tracing import configure_tracing, shutdown_tracing
from reelhouse.sandbox import control_api, fal_api, files, replicate_api, web
from reelhouse.sandbox.context import SandboxContext
from reelhouse.sandbox.fal_listener import FalListener
from reelhouse.sandbox.instant import ready_clip
from reelhouse.sandbox.outputs import OutputFiles
from reelhouse.sandbox.persistence import (
    PREDICTIONS_DIR,
    SECRET_FILE,
    PredictionJournal,
    load_or_create_secret,
)
from reelhouse.sandbox.predictions import Prediction, PredictionStore
from reelhouse.sandbox.recovery import restore_predictions
from reelhouse.sandbox.runner import Clock, Runner, SystemClock
from reelhouse.sandbox.settings import Settings
from reelhouse.sandbox.submissions import Submitter, SubmitThrottle
from reelhouse.sandbox.tls import load_or_create_tls
from reelhouse.sandbox.webhook_signing import load_or_create_webhook_keys
from reelhouse.sandbox.webhooks import WebhookNotifier

log = structlog.get_logger(__name__)

SERVICE = "sandbox"


async def _sweep_forever(context: SandboxContext) -> None:
    """Replicate deletes outputs, inputs and logs an hour after completion; so do we.

    The first sweep runs at once: predictions loaded from disk may be past retention already.
    """
    retention = context.settings.output_ttl_seconds
    interval = min(60.0, max(1.0, retention / 4))
    while True:
        context.runner.sweep(context.store, now=context.clock.now(), retention_seconds=retention)
        await asyncio.sleep(interval)


def build_fal_app(tracer_provider: TracerProvider | None = None) -> Starlette:
    """fal's queue API; its ``state.sandbox`` is set by the main app's lifespan."""
    return Starlette(
        routes=fal_api.routes,
        middleware=[
            *tracing_middleware(tracer_provider, fal_api.routes),
            Middleware(fal_api.KeyAuthMiddleware),
        ],
    )


def build_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Starlette:
    """The app; its lifespan creates the render pool, the store, the runner and the webhook
    sender, resumes the predictions saved under ``settings.data_dir`` by an earlier run, and
    starts the fal listener. ``tracer_provider`` replaces the one ``settings.tracing`` makes."""
    owns_tracing = tracer_provider is None
    tracing = (
        configure_tracing(settings.tracing, service=SERVICE) if owns_tracing else tracer_provider
    )
    fal_app = build_fal_app(tracing)
    readiness = Readiness()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        the_clock = clock or SystemClock()
        data_dir = settings.data_dir
        files_root = data_dir / "files"
        files_root.mkdir(parents=True, exist_ok=True)
        secret = load_or_create_secret(data_dir / SECRET_FILE)
        keys = load_or_create_webhook_keys(data_dir)
        tls = load_or_create_tls(data_dir, urlsplit(settings.fal_public_base_url).hostname)
        outputs = OutputFiles(files_root, settings.public_base_url, secret=secret)
        journal = PredictionJournal(data_dir / PREDICTIONS_DIR, outputs)
        notifier = WebhookNotifier(
            keys=keys,
            outputs=outputs,
            public_base_url=settings.public_base_url,
            timeout_seconds=settings.webhook_timeout_seconds,
            attempts=settings.webhook_attempts,
        )

        def on_change(prediction: Prediction) -> None:
            journal.save(prediction)
            notifier.observe(prediction)

        executor = ThreadPoolExecutor(
            max_workers=settings.render_workers, thread_name_prefix="sandbox-render"
        )
        runner = Runner(
            clock=the_clock,
            executor=executor,
            outputs=outputs,
            output_ttl_seconds=settings.output_ttl_seconds,
        )
        store = PredictionStore(save=on_change)
        context = SandboxContext(
            settings=settings,
            clock=the_clock,
            store=store,
            outputs=outputs,
            runner=runner,
            submitter=Submitter(
                clock=the_clock,
                store=store,
                runner=runner,
                throttle=SubmitThrottle(),
                queue_seconds=settings.queue_seconds,
                render_seconds=settings.render_seconds,
            ),
            keys=keys,
        )
        app.state.sandbox = context
        fal_app.state.sandbox = context
        resumed = restore_predictions(
            journal, store, runner, now=the_clock.now(), remember=notifier.remember
        )
        sweeper = asyncio.create_task(_sweep_forever(context), name="sandbox-retention")
        listener: FalListener | None = None
        try:
            # the instant model's clip, rendered once now so that no prediction waits for it
            await asyncio.get_running_loop().run_in_executor(executor, ready_clip)
            listener = await FalListener.start(
                fal_app, host=settings.http.host, port=settings.fal_port, tls=tls
            )
            log.info(
                "sandbox.started",
                public_base_url=settings.public_base_url,
                fal_public_base_url=settings.fal_public_base_url,
                ca=str(tls.ca),
                data_dir=str(data_dir),
                queue_seconds=settings.queue_seconds,
                render_seconds=settings.render_seconds,
                predictions=len(store),
                resumed=resumed,
            )
            readiness.set([])  # nothing outside the process to ask: ready once started
            yield
        finally:
            readiness.clear()
            if listener is not None:
                await listener.aclose()
            sweeper.cancel()
            for prediction in store.all():
                prediction.stop_requested.set()
            await runner.aclose()
            await notifier.aclose()
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
            log.info("sandbox.stopped", predictions=len(store))
            if owns_tracing:
                await shutdown_tracing(tracing)

    routes = [
        *health_routes(readiness),
        Route("/.well-known/jwks.json", fal_api.jwks, methods=["GET"]),
        *replicate_api.routes,
        *control_api.routes,
        *files.routes,
        *web.routes,
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(HttpMetricsMiddleware, service=SERVICE),
            *tracing_middleware(tracing, routes),
            Middleware(replicate_api.BearerTokenMiddleware),
        ],
        lifespan=lifespan,
    )
