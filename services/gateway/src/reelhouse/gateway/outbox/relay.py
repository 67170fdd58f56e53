"""The outbox relay: publishes committed outbox rows to JetStream, then marks them sent.

It wakes when a job is accepted and, at the latest, every ``poll_seconds``. When
NATS is down the rows simply wait; publishing is retried with capped exponential
backoff until it works. ``Nats-Msg-Id`` is the event id, so a row published
twice (a crash between publish and commit, two replicas) is stored once. A batch's rows are
published concurrently, except that one job's rows go one after another, in order; they are
marked sent with one ``UPDATE``, and every gateway's live streams are told of them (the
projector does not hear the gateway's own events back).

Each publish happens inside the trace the row was written in (its stored
``traceparent``), under an ``outbox.relay`` span: the consumers continue that trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from opentelemetry.trace import NoOpTracer, Tracer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.common.broker import publish_serialised
from reelhouse.common.events import EventProjected, utcnow
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
# while busy, the backlog gauges are refreshed at most this often (a query each time)
BACKLOG_EVERY_SECONDS = 1.0


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
        holds: bool = True,
        notify: Callable[[EventProjected], Awaitable[None]] | None = None,
    ) -> None:
        self._sessions = sessions
        # told of each published event: the live streams' wake-up (the projector skips them)
        self._notify = notify
        # the owners' concurrency limits: rows held by them are released first (None: no limits)
        self._limit_for = limit_for
        # whether submits may be held (a limit is configured); if not, held rows (from an
        # earlier configuration) are released by the first pass and never looked for again
        self._holds = holds
        self._held_released = False
        self._backlog_observed = -BACKLOG_EVERY_SECONDS
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
            if time.monotonic() - self._backlog_observed >= BACKLOG_EVERY_SECONDS:
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
        """Refresh the backlog gauges (what waits, how old), at most every
        ``BACKLOG_EVERY_SECONDS`` (a busy relay makes a pass per submit)."""
        self._backlog_observed = time.monotonic()
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
        if self._limit_for is not None and (self._holds or not self._held_released):
            async with self._sessions.begin() as session:
                await release_held(session, self._limit_for)
            self._held_released = True
        while True:
            # the claimed rows stay locked while they are published, so other replicas skip
            # them (PostgreSQL; new submits are not held up by row locks). On SQLite this pass
            # holds the one write lock meanwhile: a batch is published concurrently, in about
            # one JetStream round trip
            async with self._sessions.begin() as session:
                messages, owners = await repository.claim_pending(session, limit=batch)
                sent = await self._publish_batch(messages)
                await self._record(session, sent)
            OUTBOX_PUBLISHED.inc(len(sent.published))
            await self._announce(sent.published, owners)
            if sent.failed is not None:
                return False
            if len(messages) < batch:
                return True

    async def _publish_batch(self, messages: list[OutboxMessage]) -> Sent:
        """Publish ``messages`` (oldest first), a job's one after another and different jobs'
        at the same time; stops after the first round with a failure."""
        sent = Sent()
        for round_ in _rounds(messages):
            errors = await asyncio.gather(*(self._publish(message) for message in round_))
            for message, error in zip(round_, errors, strict=True):
                if error is None:
                    sent.published.append(message)
                elif sent.failed is None:
                    sent.failed = (message, error)
            if sent.failed is not None:
                break
        return sent

    async def _record(self, session: AsyncSession, sent: Sent) -> None:
        await repository.mark_published(session, sent.published, now=utcnow())
        if sent.failed is not None:
            message, error = sent.failed
            await repository.record_failure(session, message, error)

    async def _announce(self, published: list[OutboxMessage], owners: dict[str, str]) -> None:
        """Wake the live streams of every gateway: the projector does not hear the gateway's
        own events back (they were recorded when they were committed)."""
        if self._notify is None:
            return
        for message in published:
            owner_id = owners.get(message.job_id)
            if owner_id is not None:
                await self._notify(
                    EventProjected(
                        job_id=message.job_id, owner_id=owner_id, event_id=message.event_id
                    )
                )

    async def _publish(self, message: OutboxMessage) -> str | None:
        """Publish one row; None when JetStream acknowledged it, else the error."""
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
                await asyncio.wait_for(
                    publish_serialised(
                        self._bus.broker,
                        subject=message.subject,
                        body=message.payload.encode(),
                        headers=repository.event_headers(message.headers),
                        stream=self._bus.settings.stream,
                    ),
                    timeout=PUBLISH_TIMEOUT_SECONDS,
                )
            except Exception as exc:
                OUTBOX_PUBLISH_FAILURES.inc()
                log.warning("outbox.publish_failed", attempts=message.attempts + 1, error=repr(exc))
                return repr(exc)
            log.info("outbox.published", attempts=message.attempts + 1)
            return None


@dataclass
class Sent:
    """What a batch's publishing did: the rows published, and the first that failed."""

    published: list[OutboxMessage] = field(default_factory=list)
    failed: tuple[OutboxMessage, str] | None = None


def _rounds(messages: list[OutboxMessage]) -> list[list[OutboxMessage]]:
    """``messages`` in rounds holding each job at most once, a job's messages in order."""
    rounds: list[list[OutboxMessage]] = []
    seen: dict[str, int] = {}
    for message in messages:
        index = seen.get(message.job_id, -1) + 1
        seen[message.job_id] = index
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(message)
    return rounds
