"""The media service's composition root: ``build_app(settings)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from reelhouse.common.health import Check, Readiness, health_routes
from reelhouse.common.metrics import HttpMetricsMiddleware
from reelhouse.common.signing import UrlSigner
from reelhouse.common.storage import ObjectStore, build_object_store
from reelhouse.media.objects import MediaObjects
from reelhouse.media.redirect import Redirector
from reelhouse.media.routes import MediaContext, ObjectEndpoint, build_routes
from reelhouse.media.s3reader import S3Reader
from reelhouse.media.settings import CorsSettings, Settings

log = structlog.get_logger(__name__)

SERVICE = "media"

# what a player reads from a cross-origin response and may send in a preflighted request
EXPOSED_HEADERS = [
    "Accept-Ranges",
    "Content-Disposition",
    "Content-Length",
    "Content-Range",
    "ETag",
    "Last-Modified",
]
ALLOWED_REQUEST_HEADERS = [
    "Range",
    "If-Range",
    "If-Match",
    "If-None-Match",
    "If-Modified-Since",
    "If-Unmodified-Since",
]


async def _store_started(context: MediaContext) -> None:
    """Ready once the lifespan made the store ready (bucket checked); storage errors per
    request are 503s with Retry-After, so a storage outage does not restart the pods."""
    if context.objects is None:
        raise RuntimeError("object store not started")


def _default_store(settings: Settings) -> ObjectStore:
    if settings.storage.backend == "s3":
        # reads on the event loop with the range passed through (ADR 0004)
        return S3Reader(settings.storage.s3, max_connections=settings.delivery.s3_max_connections)
    return build_object_store(settings.storage)


class ObjectsFirst:
    """``GET``/``HEAD /o/…`` go straight to the endpoint (behind CORS); the rest to Starlette.

    Starlette's router and exception middleware cost a little per request and per body chunk;
    on the path that carries every byte they are skipped. Everything else (``/healthz``,
    preflights, other methods, unknown paths, the lifespan) is the Starlette app's.
    """

    def __init__(self, app: ASGIApp, objects: ASGIApp) -> None:
        self.app = app
        self.objects = objects

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] in ("GET", "HEAD")
            and scope["path"].startswith("/o/")
        ):
            scope["path_params"] = {"key": scope["path"][3:]}
            await self.objects(scope, receive, send)
            return
        await self.app(scope, receive, send)


def build_app(settings: Settings, *, store: ObjectStore | None = None) -> HttpMetricsMiddleware:
    """The ASGI app; the object store is created in its lifespan unless one is given (tests)."""
    signing = settings.signing
    # fails here, at start-up, naming REELHOUSE_SIGNING__KEYS when no key is configured
    signer = UrlSigner(
        signing.require_keys(),
        signing.active_key_id,
        leeway_seconds=settings.delivery.clock_skew_seconds,
    )
    context = MediaContext(signer=signer)
    if settings.delivery.mode == "redirect":
        context.redirector = Redirector(settings.storage.s3, settings.delivery)
    readiness = Readiness()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        active = store or _default_store(settings)
        await active.ensure_ready()
        context.objects = MediaObjects(active, metadata_ttl=settings.delivery.metadata_ttl_seconds)
        readiness.set([Check("storage", lambda: _store_started(context))])
        log.info("media.started", storage=settings.storage.backend, mode=settings.delivery.mode)
        try:
            yield
        finally:
            readiness.clear()
            context.objects = None
            if isinstance(active, S3Reader) and store is None:
                await active.close()
            log.info("media.stopped")

    app = Starlette(routes=[*health_routes(readiness), *build_routes(context)], lifespan=lifespan)
    # outermost: every request is counted, the object path included (bytes once per response)
    return HttpMetricsMiddleware(
        ObjectsFirst(
            _with_cors(app, settings.cors), _with_cors(ObjectEndpoint(context), settings.cors)
        ),
        service=SERVICE,
    )


def _with_cors(app: ASGIApp, cors: CorsSettings) -> ASGIApp:
    return CORSMiddleware(
        app,
        allow_origins=cors.allowed_origins,
        allow_methods=["GET", "HEAD"],
        allow_headers=ALLOWED_REQUEST_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        max_age=cors.max_age_seconds,
    )
