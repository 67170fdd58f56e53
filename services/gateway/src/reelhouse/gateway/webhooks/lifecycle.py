"""Webhooks in the gateway's lifespan: the secret box, the recorder, the delivery worker task.

The worker starts before the projector (deliveries recorded at once have somewhere to go)
and stops, bounded, after it: its round under way finishes and records its attempts, or is
cancelled after ``SHUTDOWN_SECONDS`` (a leased delivery is then retried when its lease ends).
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.gateway.background import stop_loop
from reelhouse.gateway.media_urls import MediaUrls
from reelhouse.gateway.settings import Settings
from reelhouse.gateway.webhooks.recorder import DeliveryRecorder
from reelhouse.gateway.webhooks.secret_store import SecretBox
from reelhouse.gateway.webhooks.sender import WebhookSender, build_client
from reelhouse.gateway.webhooks.subscription import webhook_guard
from reelhouse.gateway.webhooks.worker import DeliveryWorker

log = structlog.get_logger(__name__)

SHUTDOWN_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Webhooks:
    box: SecretBox
    recorder: DeliveryRecorder
    worker: DeliveryWorker


async def _stop(worker: DeliveryWorker, task: asyncio.Task[None]) -> None:
    await stop_loop(
        worker.request_stop, task, seconds=SHUTDOWN_SECONDS, timeout_event="webhook.stop_timeout"
    )


async def start_webhooks(
    stack: AsyncExitStack,
    *,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    media_urls: MediaUrls,
) -> Webhooks:
    """Build the webhook parts and start the worker; ``stack`` stops it and closes the client."""
    config = settings.webhooks
    secrets_key = config.secrets_key
    box = SecretBox.build(
        secrets_key=secrets_key.get_secret_value().encode() if secrets_key else None,
        signing_keys=settings.signing.require_keys(),
        active_signing_key=settings.signing.active_key_id,
    )
    client = build_client(
        connect_timeout=config.connect_timeout_seconds, timeout=config.timeout_seconds
    )
    stack.push_async_callback(client.aclose)
    worker = DeliveryWorker(
        sessions=sessions,
        sender=WebhookSender(client, webhook_guard(config), timeout=config.timeout_seconds),
        box=box,
        settings=config,
    )
    task = asyncio.create_task(worker.run(), name="gateway-webhook-worker")
    stack.push_async_callback(_stop, worker, task)
    recorder = DeliveryRecorder(
        media_urls=media_urls,
        public_base_url=settings.public_base_url,
        max_age=timedelta(seconds=config.max_age_seconds),
        wake=worker.wake,
    )
    return Webhooks(box=box, recorder=recorder, worker=worker)
