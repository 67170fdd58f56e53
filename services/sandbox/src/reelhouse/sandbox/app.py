"""``build_app(settings)``: the sandbox provider as one Starlette application."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from reelhouse.sandbox import files, replicate_api, web
from reelhouse.sandbox.context import SandboxContext
from reelhouse.sandbox.outputs import OutputFiles
from reelhouse.sandbox.persistence import (
    PREDICTIONS_DIR,
    SECRET_FILE,
    PredictionJournal,
    load_or_create_secret,
)
from reelhouse.sandbox.predictions import PredictionStore
from reelhouse.sandbox.recovery import restore_predictions
from reelhouse.sandbox.runner import Clock, Runner, SystemClock
from reelhouse.sandbox.settings import Settings

log = structlog.get_logger(__name__)


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def _sweep_forever(context: SandboxContext) -> None:
    """Replicate deletes outputs, inputs and logs an hour after completion; so do we.

    The first sweep runs at once: predictions loaded from disk may be past retention already.
    """
    retention = context.settings.output_ttl_seconds
    interval = min(60.0, max(1.0, retention / 4))
    while True:
        context.runner.sweep(context.store, now=context.clock.now(), retention_seconds=retention)
        await asyncio.sleep(interval)


def build_app(settings: Settings, *, clock: Clock | None = None) -> Starlette:
    """The app; its lifespan creates the render pool, the store and the runner, and resumes
    the predictions saved under ``settings.data_dir`` by an earlier run."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        the_clock = clock or SystemClock()
        files_root = settings.data_dir / "files"
        files_root.mkdir(parents=True, exist_ok=True)
        executor = ThreadPoolExecutor(
            max_workers=settings.render_workers, thread_name_prefix="sandbox-render"
        )
        secret = load_or_create_secret(settings.data_dir / SECRET_FILE)
        outputs = OutputFiles(files_root, settings.public_base_url, secret=secret)
        journal = PredictionJournal(settings.data_dir / PREDICTIONS_DIR, outputs)
        runner = Runner(
            clock=the_clock,
            executor=executor,
            outputs=outputs,
            output_ttl_seconds=settings.output_ttl_seconds,
        )
        context = SandboxContext(
            settings=settings,
            clock=the_clock,
            store=PredictionStore(save=journal.save),
            outputs=outputs,
            runner=runner,
        )
        app.state.sandbox = context
        resumed = restore_predictions(journal, context.store, runner, now=the_clock.now())
        sweeper = asyncio.create_task(_sweep_forever(context), name="sandbox-retention")
        log.info(
            "sandbox.started",
            public_base_url=settings.public_base_url,
            data_dir=str(settings.data_dir),
            queue_seconds=settings.queue_seconds,
            render_seconds=settings.render_seconds,
            predictions=len(context.store),
            resumed=resumed,
        )
        try:
            yield
        finally:
            sweeper.cancel()
            for prediction in context.store.all():
                prediction.stop_requested.set()
            await runner.aclose()
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
            log.info("sandbox.stopped", predictions=len(context.store))

    return Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            *replicate_api.routes,
            *files.routes,
            *web.routes,
        ],
        middleware=[Middleware(replicate_api.BearerTokenMiddleware)],
        lifespan=lifespan,
    )
