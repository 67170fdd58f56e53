"""The delivery worker: sends due webhook deliveries, retries failures, survives restarts.

An asyncio task in every gateway process (started in the lifespan). Every round it leases
due deliveries (``repository.claim_due``: several processes never send the same one at once),
signs each with the owner's secrets in use, sends it (``sender.py``) and records the attempt.
All state is in the database: a delivery leased by a process that died is taken again when
its lease runs out. 2xx is delivered; 410 Gone, or a URL the SSRF guard refuses, ends the
delivery as failed; anything else (other statuses, timeouts, connection errors) is retried
with exponential backoff and jitter until ``give_up_at``. ``webhook-id`` is the delivery id,
the same on every retry and redelivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.common.events import utcnow
from reelhouse.common.logging import job_context
from reelhouse.gateway.db.models import WebhookAttempt
from reelhouse.gateway.metrics import WEBHOOK_ATTEMPTS, WEBHOOK_FAILED, WEBHOOK_SUCCEEDED
from reelhouse.gateway.settings import WebhookSettings
from reelhouse.gateway.webhooks import repository
from reelhouse.gateway.webhooks.retry import next_attempt_at, stops_retries
from reelhouse.gateway.webhooks.secret_store import (
    SecretBox,
    SecretUnreadableError,
    signing_secrets,
)
from reelhouse.gateway.webhooks.sender import AttemptResult, WebhookSender
from reelhouse.gateway.webhooks.signature import signature_header

log = structlog.get_logger(__name__)

ERROR_CHARS = 500


class DeliveryWorker:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        sender: WebhookSender,
        box: SecretBox,
        settings: WebhookSettings,
    ) -> None:
        self._sessions = sessions
        self._sender = sender
        self._box = box
        self._settings = settings
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    def request_stop(self) -> None:
        """Finish the round under way (its attempts are recorded), then leave ``run``."""
        self._stopping.set()
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                busy = await self.deliver_due() >= self._settings.batch_size
            except Exception as exc:  # the database may be briefly unavailable
                log.warning("webhook.round_failed", error=repr(exc))
                busy = False
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._settings.poll_seconds)

    async def deliver_due(self) -> int:
        """Lease and send one batch of due deliveries; how many were sent."""
        now = utcnow()
        async with self._sessions.begin() as session:
            claimed = await repository.claim_due(
                session,
                now=now,
                lease_until=now + timedelta(seconds=self._settings.lease_seconds),
                limit=self._settings.batch_size,
            )
        if claimed:
            await asyncio.gather(*(self._deliver(delivery_id) for delivery_id in claimed))
        return len(claimed)

    async def _deliver(self, delivery_id: str) -> None:
        async with self._sessions() as session:
            delivery = await repository.get(session, delivery_id)
            if delivery is None or delivery.status != repository.PENDING:
                return
            job_id, type_, url, body = (
                delivery.job_id or delivery.composition_id or "",
                delivery.type,
                delivery.url,
                delivery.payload.encode(),
            )
            with job_context(job_id, delivery_id=delivery_id, type=type_):
                try:
                    secrets = await signing_secrets(
                        session, self._box, owner_id=delivery.owner_id, now=utcnow()
                    )
                except SecretUnreadableError as exc:
                    log.error("webhook.secret_unreadable", error=str(exc))
                    secrets = []
        with job_context(job_id, delivery_id=delivery_id, type=type_):
            if not secrets:
                result = AttemptResult(error="the owner's webhook secret cannot be read")
            else:
                timestamp = int(time.time())
                headers = {
                    "webhook-id": delivery_id,
                    "webhook-timestamp": str(timestamp),
                    "webhook-signature": signature_header(
                        secrets, msg_id=delivery_id, timestamp=timestamp, body=body
                    ),
                }
                WEBHOOK_ATTEMPTS.labels(type_).inc()
                result = await self._sender.send(url, headers=headers, body=body)
            await self._record(delivery_id, type_, result)

    async def _record(self, delivery_id: str, type_: str, result: AttemptResult) -> None:
        now = utcnow()
        async with self._sessions.begin() as session:
            delivery = await repository.get_for_update(session, delivery_id)
            if delivery is None:
                return
            delivery.attempts += 1
            delivery.locked_until = None
            delivery.last_status_code = result.status_code
            delivery.last_error = result.error[:ERROR_CHARS] if result.error else None
            repository.add_attempt(
                session,
                WebhookAttempt(
                    delivery_id=delivery_id,
                    attempted_at=now,
                    succeeded=result.delivered,
                    status_code=result.status_code,
                    error=delivery.last_error,
                ),
            )
            if result.delivered:
                delivery.status = repository.DELIVERED
                delivery.delivered_at = now
                delivery.next_attempt_at = None
                WEBHOOK_SUCCEEDED.labels(type_).inc()
                log.info("webhook.delivered", status_code=result.status_code)
                return
            retry_at = (
                None
                if result.blocked or stops_retries(result.status_code)
                else next_attempt_at(
                    attempts=delivery.attempts,
                    now=now,
                    give_up_at=delivery.give_up_at,
                    base=self._settings.retry_base_seconds,
                    cap=self._settings.retry_max_seconds,
                )
            )
            delivery.next_attempt_at = retry_at
            if retry_at is None:
                delivery.status = repository.FAILED
            WEBHOOK_FAILED.labels(type_, str(retry_at is None).lower()).inc()
            log.warning(
                "webhook.attempt_failed",
                status_code=result.status_code,
                error=delivery.last_error,
                attempts=delivery.attempts,
                gave_up=retry_at is None,
                retry_at=retry_at.isoformat() if retry_at else None,
            )
