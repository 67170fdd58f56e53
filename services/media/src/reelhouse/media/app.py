"""The media service's composition root: ``build_app(settings)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from starlette.applications import Starlette

from reelhouse.common.signing import UrlSigner
from reelhouse.common.storage import ObjectStore, build_object_store
from reelhouse.media.routes import MediaContext, build_routes
from reelhouse.media.settings import Settings

log = structlog.get_logger(__name__)


def build_app(settings: Settings, *, store: ObjectStore | None = None) -> Starlette:
    """The ASGI app; the object store is created in its lifespan unless one is given (tests)."""
    signing = settings.signing
    # fails here, at start-up, naming REELHOUSE_SIGNING__KEYS when no key is configured
    context = MediaContext(signer=UrlSigner(signing.require_keys(), signing.active_key_id))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        context.store = store or build_object_store(settings.storage)
        await context.store.ensure_ready()
        log.info("media.started", storage=settings.storage.backend)
        try:
            yield
        finally:
            context.store = None
            log.info("media.stopped")

    return Starlette(routes=build_routes(context), lifespan=lifespan)
