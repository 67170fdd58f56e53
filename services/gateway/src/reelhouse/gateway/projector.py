"""The projector: durable pull consumer ``gateway-projector`` on the events other roles publish.

Each event is recorded once per job (``job_events.event_id`` is unique) and moves
the job forward through the state machine (``jobs/projection.py``); stored assets,
failures, provider attempts (``jobs/attempts.py``) and costs (``costs/accrual.py``) land on
the job. Settled with ``reelhouse.common.delivery.settle``:
ack when done, nak with backoff on database trouble. An undecodable message or an
unknown job id is recorded on the dead-letter stream and terminated
(``reelhouse.common.deadletter``), never redelivered in a loop.

The gateway's own events (``gen.requested.v1``, ``gen.cancel.v1``) are recorded in the
transaction that makes them, so the consumer does not subscribe to them (bench-submit: hearing
them back cost about 2 ms of CPU per job); a consumer made by an older gateway on ``gen.>`` is
narrowed at start-up (``projector_consumer``), and until then they are found recorded and
acknowledged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

import structlog
from faststream.middlewares import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.common.broker import consumer_config
from reelhouse.common.deadletter import DeadLetters, Poison, PoisonCode, poison_from
from reelhouse.common.delivery import DeliveryPolicy, settle
from reelhouse.common.events import (
    JOB_EVENTS,
    CancelRequested,
    Event,
    EventProjected,
    GenerationFailed,
    GenerationRequested,
    JobError,
    parse_event,
    utcnow,
)
from reelhouse.common.jobstate import JobStatus, is_final
from reelhouse.common.logging import job_context
from reelhouse.common.settings import NatsSettings
from reelhouse.gateway.compositions.progress import PartSettled, on_part_settled
from reelhouse.gateway.costs.accrual import accrue
from reelhouse.gateway.db.models import Job
from reelhouse.gateway.jobs import repository
from reelhouse.gateway.jobs.attempts import dump_attempts, load_attempts, record_attempt
from reelhouse.gateway.jobs.projection import project
from reelhouse.gateway.jobs.service import event_row, is_job_id, without_nul
from reelhouse.gateway.metrics import Transition, observe_transition
from reelhouse.gateway.webhooks.recorder import DeliveryRecorder

log = structlog.get_logger(__name__)

DURABLE = "gateway-projector"
# what the gateway writes itself and records as it commits (the outbox relays it to the others)
OWN_EVENTS: tuple[type[Event], ...] = (GenerationRequested, CancelRequested)
FILTER_SUBJECTS = [event.subject for event in JOB_EVENTS if event not in OWN_EVENTS]
# one message per fetch: events of a job are applied in the order they were published
FETCH_BATCH = 1
FETCH_TIMEOUT_SECONDS = 1.0

# told once an event is committed (the live streams of every gateway wake on it)
Notify = Callable[[EventProjected], Awaitable[None]]


class Outcome(StrEnum):
    APPLIED = "applied"  # the job moved
    RECORDED = "recorded"  # kept in the history, the job did not move (late or informational)
    DUPLICATE = "duplicate"  # seen before
    UNKNOWN_JOB = "unknown_job"


async def apply_event(
    sessions: async_sessionmaker[AsyncSession],
    event: Event,
    *,
    notify: Notify | None = None,
    webhooks: DeliveryRecorder | None = None,
    wake_relay: Callable[[], None] | None = None,
) -> Outcome:
    """Record ``event`` and apply it to its job, in one transaction; idempotent on event id.

    The job's webhook deliveries for the event (``webhooks``), and its composition's when the
    job is a part that settled, are written in that transaction;
    ``notify`` hears of the recorded event once the transaction has committed, and
    ``wake_relay`` is called when the transaction queued outbox rows (a composition's part
    settled: an assembly or cancels may be queued).
    """
    if not is_job_id(event.job_id) or "\x00" in event.event_id:
        return Outcome.UNKNOWN_JOB
    transition: Transition | None = None
    deliveries = 0
    queued = False
    settled: PartSettled | None = None
    try:
        async with sessions.begin() as session:
            # the job, locked, and whether the event is in its history already: one round trip
            found = await repository.lock_job_for_event(session, event.job_id, event.event_id)
            if found is None:
                return Outcome.UNKNOWN_JOB
            job, recorded = found
            if recorded:
                # committed already — by another gateway, or by submit or cancel if this
                # consumer still hears those: streams may not have heard of it yet
                if notify is not None:
                    await notify(
                        EventProjected(
                            job_id=event.job_id, owner_id=job.owner_id, event_id=event.event_id
                        )
                    )
                return Outcome.DUPLICATE
            owner_id = job.owner_id
            change = project(JobStatus(job.status), event)
            now = utcnow()
            if change.provider_request_id and job.provider_request_id is None:
                job.provider_request_id = change.provider_request_id
                job.updated_at = now
            if change.status is not None:
                transition = await _transition(session, job, change.status, event)
                job.status = change.status.value
                job.updated_at = now
                if change.error is not None:
                    job.error = without_nul(change.error.model_dump(mode="json"))
                    job.error_code = change.error.code[:64]
                # only a job that reached succeeded gets outputs (never a canceled one)
                if change.assets:
                    await repository.replace_outputs(session, job.id, change.assets)
                if job.composition_id is not None and is_final(change.status):
                    # the composition follows its part (may queue the assembly or cancels)
                    settled = await on_part_settled(
                        session, job, assets=change.assets or [], now=now
                    )
                    queued = True
            attempts = record_attempt(
                load_attempts(job.attempts),
                event,
                status=JobStatus(job.status),
                moved=change.applied,
            )
            if attempts is not None:
                job.attempts = without_nul(dump_attempts(attempts))
                job.updated_at = now
            accrue(
                job,
                event,
                assets=change.assets,
                attempts=attempts if attempts is not None else load_attempts(job.attempts),
            )
            repository.add_event(
                session, event_row(event, status=change.status, applied=change.applied)
            )
            if webhooks is not None:
                deliveries = await webhooks.record(
                    session, job, event=event, moved_to=change.status, now=now
                )
                if settled is not None:
                    deliveries += await webhooks.record_composition(
                        session,
                        settled.composition,
                        cause=event.event_id,
                        moved_to=settled.moved_to,
                        part_settled=True,
                        occurred_at=event.occurred_at,
                        now=now,
                    )
    except IntegrityError:
        # a replica recorded the same event id at the same moment
        return Outcome.DUPLICATE
    if transition is not None:  # counted once committed
        observe_transition(transition)
    if notify is not None:
        await notify(
            EventProjected(job_id=event.job_id, owner_id=owner_id, event_id=event.event_id)
        )
    if deliveries and webhooks is not None:
        webhooks.committed()
    if queued and wake_relay is not None:
        wake_relay()
    return Outcome.APPLIED if change.applied else Outcome.RECORDED


async def _transition(session: AsyncSession, job: Job, to: JobStatus, event: Event) -> Transition:
    """The move ``event`` makes, timed from the job's own transition timestamps."""
    left = JobStatus(job.status)
    entered = await repository.state_entered_at(session, job.id, left.value) or job.created_at
    return Transition(
        model=job.model,
        left=left,
        to=to,
        entered=entered,
        at=event.occurred_at,
        code=event.error.code if isinstance(event, GenerationFailed) else "",
    )


class Projector:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        nats: NatsSettings,
        notify: Notify | None = None,
        dead_letters: DeadLetters,
        webhooks: DeliveryRecorder | None = None,
    ) -> None:
        self._sessions = sessions
        self._dead_letters = dead_letters
        self._notify = notify
        self._webhooks = webhooks
        # called when an event changed a job (a finished job makes room under a concurrency
        # limit: the app wires the outbox relay's wake here)
        self.on_change: Callable[[], None] | None = None
        # called when a projected event queued outbox rows (the app wires the relay's wake)
        self.on_outbox: Callable[[], None] | None = None
        self._policy = DeliveryPolicy(
            max_deliver=nats.max_deliver, ack_wait_seconds=nats.ack_wait_seconds
        )

    async def on_event(self, msg: NatsMessage) -> None:
        subject = msg.raw_message.subject
        try:
            event = parse_event(subject, msg.body)
        except (KeyError, ValidationError) as exc:
            # an unknown subject (KeyError) or a body that does not fit its schema
            await self._dead_letters.record(msg, poison_from(exc, subject=subject))
            return
        with job_context(event.job_id, event_id=event.event_id, subject=subject):
            await settle(
                msg,
                self._project(event, msg),
                policy=self._policy,
                stage="gateway",
                fail=lambda error: self._give_up(event, error),
            )

    async def _project(self, event: Event, msg: NatsMessage) -> None:
        outcome = await apply_event(
            self._sessions,
            event,
            notify=self._notify,
            webhooks=self._webhooks,
            wake_relay=self.on_outbox,
        )
        if outcome is Outcome.UNKNOWN_JOB:
            # recorded and terminated here; settle's acknowledgement then does nothing
            reason = f"no job {event.job_id!r} in the gateway's database"
            await self._dead_letters.record(msg, Poison.of(PoisonCode.UNKNOWN_JOB, reason))
        else:
            log.info("projector.event", outcome=outcome.value)
        if outcome is Outcome.APPLIED and self.on_change is not None:
            self.on_change()

    async def _give_up(self, event: Event, error: JobError) -> None:
        """After the last delivery: fail the job rather than leave it stuck."""
        failed = GenerationFailed(
            event_id=f"{event.job_id}:projector-failed", job_id=event.job_id, error=error
        )
        try:
            await apply_event(
                self._sessions,
                failed,
                notify=self._notify,
                webhooks=self._webhooks,
                wake_relay=self.on_outbox,
            )
        except Exception as exc:
            log.error("projector.give_up_failed", error=repr(exc))


def projector_consumer(nats: NatsSettings) -> ConsumerConfig:
    """The projector's durable consumer, as the gateway creates it or brings it up to date."""
    return consumer_config(nats, durable=DURABLE, filter_subjects=FILTER_SUBJECTS)


def register_projector(
    broker: NatsBroker,
    *,
    sessions: async_sessionmaker[AsyncSession],
    nats: NatsSettings,
    notify: Notify | None = None,
    webhooks: DeliveryRecorder | None = None,
) -> Projector:
    """Subscribe the projector on ``broker`` (the subscription starts with the broker)."""
    projector = Projector(
        sessions=sessions,
        nats=nats,
        notify=notify,
        webhooks=webhooks,
        dead_letters=DeadLetters.for_consumer(broker, nats, DURABLE),
    )
    broker.subscriber(
        "gen.>",
        stream=JStream(nats.stream, declare=False),
        durable=DURABLE,
        config=projector_consumer(nats),
        pull_sub=PullSub(batch_size=FETCH_BATCH, timeout=FETCH_TIMEOUT_SECONDS),
        ack_policy=AckPolicy.MANUAL,
        title="gateway-projector",
        description="Moves jobs through their state machine and records every event.",
    )(projector.on_event)
    return projector
