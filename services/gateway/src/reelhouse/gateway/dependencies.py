"""What the lifespan builds, and the ``Annotated`` aliases routes use to receive it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reelhouse.common.brokerwatch import BrokerWatch
from reelhouse.common.storage import ObjectStore
from reelhouse.gateway.bus import Bus
from reelhouse.gateway.catalog.loader import Catalog
from reelhouse.gateway.live.hub import LiveHub
from reelhouse.gateway.media_urls import MediaUrls
from reelhouse.gateway.outbox.relay import OutboxRelay
from reelhouse.gateway.settings import Settings
from reelhouse.gateway.webhooks.secret_store import SecretBox
from reelhouse.gateway.webhooks.worker import DeliveryWorker

if TYPE_CHECKING:  # the recorder renders views, whose modules import these dependencies
    from reelhouse.gateway.webhooks.recorder import DeliveryRecorder


@dataclass(frozen=True, slots=True)
class Services:
    """The gateway's clients, created in the lifespan and held on ``app.state.services``."""

    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    catalog: Catalog
    media_urls: MediaUrls
    bus: Bus
    relay: OutboxRelay
    # NATS's state by a bounded round trip, and the projector's lag (gauges)
    watch: BrokerWatch
    # this process's open SSE streams, woken by NATS notices
    hub: LiveHub
    # signed webhooks: the owners' secrets (encrypted at rest), this process's sender, and
    # what records a composition's deliveries when the API changes it
    webhook_box: SecretBox
    webhook_worker: DeliveryWorker
    webhook_recorder: DeliveryRecorder
    # object storage (uploads are written here; outputs by the downloader)
    store: ObjectStore


async def get_services(request: Request) -> Services:
    return cast(Services, request.app.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_session(services: ServicesDep) -> AsyncIterator[AsyncSession]:
    async with services.sessions() as session:
        yield session


async def get_settings(services: ServicesDep) -> Settings:
    return services.settings


async def get_catalog(services: ServicesDep) -> Catalog:
    return services.catalog


async def get_media_urls(services: ServicesDep) -> MediaUrls:
    return services.media_urls


async def get_store(services: ServicesDep) -> ObjectStore:
    return services.store


async def get_relay(services: ServicesDep) -> OutboxRelay:
    return services.relay


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
CatalogDep = Annotated[Catalog, Depends(get_catalog)]
MediaUrlsDep = Annotated[MediaUrls, Depends(get_media_urls)]
RelayDep = Annotated[OutboxRelay, Depends(get_relay)]
StoreDep = Annotated[ObjectStore, Depends(get_store)]
