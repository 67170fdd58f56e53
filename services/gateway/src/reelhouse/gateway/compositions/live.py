"""``GET /v1/compositions/{id}/events`` as server-sent events: the composition on every change.

Each event (``event: composition``) carries the whole composition as ``GET`` shows it, sent
when it or one of its parts changed; the stream closes after a final status. A stream that
reconnects starts with the current state, so no ``Last-Event-ID`` is needed. Wake-ups come from
the owner's ``gateway.projected.v1`` notices, with a bounded poll as the fallback.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.gateway.compositions.ids import FINAL_STATUSES, CompositionStatus
from reelhouse.gateway.compositions.repository import get_owned
from reelhouse.gateway.compositions.service import with_parts
from reelhouse.gateway.compositions.views import CompositionLinksFor, composition_view
from reelhouse.gateway.live.hub import Listener
from reelhouse.gateway.live.sse import KEEP_ALIVE, encode_event, encode_retry
from reelhouse.gateway.live.streams import Pacer
from reelhouse.gateway.media_urls import MediaUrls
from reelhouse.gateway.settings import SseSettings

log = structlog.get_logger(__name__)

EVENT_TYPE = "composition"


async def composition_stream(
    *,
    sessions: async_sessionmaker[AsyncSession],
    listener: Listener,
    settings: SseSettings,
    owner_id: str,
    composition_id: str,
    media_urls: MediaUrls,
    links: CompositionLinksFor,
) -> AsyncIterator[bytes]:
    sent: tuple[object, ...] | None = None
    sequence = 0
    pacer = Pacer(settings)
    try:
        yield encode_retry(settings.retry_ms)
        while not listener.closing:
            try:
                async with sessions() as session:
                    row = await get_owned(session, owner_id=owner_id, composition_id=composition_id)
                    if row is None:
                        return
                    item = await with_parts(session, row)
            except (SQLAlchemyError, OSError) as exc:
                log.warning("sse.read_failed", composition_id=composition_id, error=repr(exc))
            else:
                # what a change looks like: the composition's and every part's last update
                state = (
                    item.composition.status,
                    item.composition.updated_at,
                    *((job.id, job.status, job.updated_at) for job in item.parts),
                )
                if state != sent:
                    sent = state
                    sequence += 1
                    view = composition_view(
                        item.composition, item.parts, media_urls=media_urls, links=links
                    )
                    yield encode_event(
                        event_id=f"{composition_id}:{sequence}",
                        event=EVENT_TYPE,
                        data=view.model_dump(mode="json", by_alias=True),
                    )
                    pacer.sent()
                    if CompositionStatus(item.composition.status) in FINAL_STATUSES:
                        log.info("sse.composition_stream_done", status=view.status.value)
                        return
            if pacer.keep_alive_due():
                yield KEEP_ALIVE
                pacer.sent()
            await listener.wait(pacer.wait_seconds())
    finally:
        listener.close()
