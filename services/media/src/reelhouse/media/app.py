"""The media service's composition root: ``build_app(settings)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from reelhouse.common.signing import UrlSigner
from reelhouse.common.storage import ObjectStore, build_object_store
from reelhouse.media.objects import MediaObjects
from reelhouse.media.redirect import Redirector
from reelhouse.media.routes import MediaContext, build_routes
from reelhouse.media.s3reader import S3Reader
from reelhouse.media.settings import Settings

log = structlog.get_logger(__name__)

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


def _default_store(settings: Settings) -> ObjectStore:
    if settings.storage.backend == "s3":
        # reads on the event loop with the range passed through (ADR 0004)
        return S3Reader(settings.storage.s3, max_connections=settings.delivery.s3_max_connections)
    return build_object_store(settings.storage)


def build_app(settings: Settings, *, store: ObjectStore | None = None) -> Starlette:
    """The ASGI app; the object store is created in its lifespan unless one is given (tests)."""
    signing = settings.signing
    # fails here, at start-up, naming REELHOUSE_SIGNING__KEYS when no key is configured
    context = MediaContext(signer=UrlSigner(signing.require_keys(), signing.active_key_id))
    if settings.delivery.mode == "redirect":
        context.redirector = Redirector(settings.storage.s3, settings.delivery)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        active = store or _default_store(settings)
        await active.ensure_ready()
        context.objects = MediaObjects(active, metadata_ttl=settings.delivery.metadata_ttl_seconds)
        log.info("media.started", storage=settings.storage.backend, mode=settings.delivery.mode)
        try:
            yield
        finally:
            context.objects = None
            if isinstance(active, S3Reader) and store is None:
                await active.close()
            log.info("media.stopped")

    cors = settings.cors
    middleware = [
        Middleware(
            CORSMiddleware,
            allow_origins=cors.allowed_origins,
            allow_methods=["GET", "HEAD"],
            allow_headers=ALLOWED_REQUEST_HEADERS,
            expose_headers=EXPOSED_HEADERS,
            max_age=cors.max_age_seconds,
        )
    ]
    return Starlette(routes=build_routes(context), lifespan=lifespan, middleware=middleware)
