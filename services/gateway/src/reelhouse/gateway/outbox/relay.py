"""The outbox relay: publishes committed outbox rows to JetStream, then marks them sent.

It wakes when a job is accepted and, at the latest, every ``poll_seconds``. When
NATS is down the rows simply wait; publishing is retried with capped exponential
backoff until it works. ``Nats-Msg-Id`` is the event id, so a row published
twice (a crash between publish and commit, two replicas) is stored once.

Each publish happens inside the trace the row was written in (its stored
``traceparent``), under an ``outbox.relay`` span: the consumers continue that trace.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from opentelemetry.trace import NoOpTracer, Tracer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.common.broker import publish_event
from reelhouse.common.events import parse_event, utcnow
from reelhouse.common.logging import job_context
from reelhouse.common.tracing import continued_trace
from reelhouse.gateway.bus import Bus
from reelhouse.gateway.db.models import OutboxMessage
from reelhouse.gateway.limits.concurrency import LimitFor, release_held
from reelhouse.gateway.metrics import OUTBOX_PUBLISH_FAILURES, OUTBOX_PUBLISHED, observe_backlog
from reelhouse.gateway.outbox import repository
from reelhouse.gateway.settings import OutboxSettings

log = structlog.get_logger(__name__)

PUBLISH_TIMEOUT_SECONDS = 5.0


def backoff_delay(failures: int, *, base: float, cap: float) -> float:
    """Seconds to wait after ``failures`` consecutive failed passes (1-based)."""
    return float(min(cap, base * 2 ** max(0, failures - 1)))


class OutboxRelay:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        bus: Bus,
        settings: OutboxSettings,
        tracer: Tracer | None = None,
        limit_for: LimitFor | None = None,
    ) -> None:
        self._sessions = sessions
        # the owners' concurrency limits: rows held by them are released first (None: no limits)
        self._limit_for = limit_for
        self._bus = bus
        self._settings = settings
        self._tracer = tracer or NoOpTracer()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    def request_stop(self) -> None:
        """Finish the pass under way (its transaction commits), then leave ``run``."""
        self._stopping.set()
        self._wake.set()

    def wake(self) -> None:
        """Something was added to the outbox: publish it now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Drain the outbox until ``request_stop`` (cancelling also works, less gently)."""
        failures = 0
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                drained = await self.publish_pending()
            except Exception as exc:  # the database may be briefly unavailable too
                log.warning("outbox.pass_failed", error=repr(exc))
                drained = False
            await self._observe_backlog()
            if drained:
                failures = 0
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=self._settings.poll_seconds)
            else:
                failures += 1
                delay = backoff_delay(
                    failures,
                    base=self._settings.retry_base_seconds,
                    cap=self._settings.retry_max_seconds,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=delay)

    async def _observe_backlog(self) -> None:
        """Refresh the backlog gauges (what waits, how old) after every pass."""
        try:
            async with self._sessions() as session:
                pending, oldest = await repository.backlog(session)
        except Exception as exc:
            log.warning("outbox.backlog_unknown", error=repr(exc))
            return
        observe_backlog(pending, oldest, now=utcnow())

    async def publish_pending(self) -> bool:
        """Publish every pending row; False when something failed (NATS down, …)."""
        if not self._bus.connected:
            return False
        batch = self._settings.batch_size
        if self._limit_for is not None:
            async with self._sessions.begin() as session:
                await release_held(session, self._limit_for)
        while True:
            async with self._sessions.begin() as session:
                messages = await repository.claim_pending(session, limit=batch)
                for message in messages:
                    if not await self._publish(message):
                        return False
            if len(messages) < batch:
                return True

    async def _publish(self, message: OutboxMessage) -> bool:
        with (
            continued_trace(message.headers),
            self._tracer.start_as_current_span(
                "outbox.relay",
                attributes={
                    "messaging.destination.name": message.subject,
                    "reelhouse.event_id": message.event_id,
                    "reelhouse.outbox.attempts": message.attempts,
                },
            ),
            job_context(message.job_id, event_id=message.event_id, subject=message.subject),
        ):
            try:
                event = parse_event(message.subject, message.payload.encode())
                await asyncio.wait_for(
                    publish_event(
                        self._bus.broker,
                        event,
                        source=repository.SOURCE,
                        stream=self._bus.settings.stream,
                    ),
                    timeout=PUBLISH_TIMEOUT_SECONDS,
                )
            except Exception as exc:
                repository.record_failure(message, repr(exc))
                OUTBOX_PUBLISH_FAILURES.inc()
                log.warning("outbox.publish_failed", attempts=message.attempts, error=repr(exc))
                return False
            repository.mark_published(message, now=utcnow())
            OUTBOX_PUBLISHED.inc()
            log.info("outbox.published", attempts=message.attempts)
            return True
