"""The assembler's answers: durable pull consumer ``gateway-compositions``.

``composition.assembled.v1`` makes the composition ``succeeded`` with the film as its output;
``composition.assembly_failed.v1`` makes it ``failed`` (stage ``assembly``). Only an answer to
the composition's current assembly, while it is ``assembling``, moves it: a redelivered or late
answer (an earlier assembly, a canceled composition) is logged and acknowledged; an undecodable
answer, or one for a composition the database does not know, is recorded on the dead-letter
stream and terminated (``reelhouse.common.deadletter``). The
composition's webhook deliveries are written in the transaction that settles it, keyed on the
answer's event id.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum

import structlog
from faststream.middlewares import AckPolicy
from faststream.nats import ConsumerConfig, JStream, NatsBroker, NatsMessage, PullSub
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from reelhouse.common.broker import consumer_config
from reelhouse.common.composition_events import (
    CompositionAssembled,
    CompositionAssemblyFailed,
)
from reelhouse.common.deadletter import DeadLetters, Poison, PoisonCode, poison_from
from reelhouse.common.delivery import DeliveryPolicy, settle
from reelhouse.common.events import EventProjected, JobError, utcnow
from reelhouse.common.logging import job_context
from reelhouse.common.settings import NatsSettings
from reelhouse.gateway.compositions import repository
from reelhouse.gateway.compositions.ids import CompositionStatus, is_composition_id
from reelhouse.gateway.webhooks.recorder import DeliveryRecorder

log = structlog.get_logger(__name__)

DURABLE = "gateway-compositions"
ANSWERS: dict[str, type[CompositionAssembled] | type[CompositionAssemblyFailed]] = {
    CompositionAssembled.subject: CompositionAssembled,
    CompositionAssemblyFailed.subject: CompositionAssemblyFailed,
}
FETCH_TIMEOUT_SECONDS = 1.0

Notify = Callable[[EventProjected], Awaitable[None]]


class Outcome(StrEnum):
    APPLIED = "applied"
    IGNORED = "ignored"  # late, repeated, or for an assembly that is no longer current
    UNKNOWN = "unknown"


async def apply_answer(
    sessions: async_sessionmaker[AsyncSession],
    answer: CompositionAssembled | CompositionAssemblyFailed,
    *,
    notify: Notify | None = None,
    webhooks: DeliveryRecorder | None = None,
) -> Outcome:
    """Move the composition by the assembler's answer, once; idempotent."""
    deliveries = 0
    if not is_composition_id(answer.job_id):
        return Outcome.UNKNOWN
    async with sessions.begin() as session:
        composition = await repository.lock(session, answer.job_id)
        if composition is None:
            return Outcome.UNKNOWN
        if (
            composition.status != CompositionStatus.ASSEMBLING.value
            or composition.assembly != answer.assembly
        ):
            log.info(
                "composition.answer_ignored",
                status=composition.status,
                assembly=composition.assembly,
                answered=answer.assembly,
            )
            return Outcome.IGNORED
        now = utcnow()
        if isinstance(answer, CompositionAssembled):
            composition.status = CompositionStatus.SUCCEEDED.value
            composition.outputs = [answer.asset.model_dump(mode="json")]
            composition.assembly_method = answer.method
        else:
            composition.status = CompositionStatus.FAILED.value
            composition.error = answer.error.model_dump(mode="json") | {"scene": None}
            composition.error_code = answer.error.code[:64]
        composition.updated_at = now
        owner_id = composition.owner_id
        status = composition.status
        if webhooks is not None:
            deliveries = await webhooks.record_composition(
                session,
                composition,
                cause=answer.event_id,
                moved_to=status,
                occurred_at=answer.occurred_at,
                now=now,
            )
    log.info("composition.settled", status=status, assembly=answer.assembly)
    if deliveries and webhooks is not None:
        webhooks.committed()
    if notify is not None:
        await notify(
            EventProjected(job_id=answer.job_id, owner_id=owner_id, event_id=answer.event_id)
        )
    return Outcome.APPLIED


class AssemblyAnswers:
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
        self._policy = DeliveryPolicy(
            max_deliver=nats.max_deliver, ack_wait_seconds=nats.ack_wait_seconds
        )

    async def on_answer(self, msg: NatsMessage) -> None:
        subject = msg.raw_message.subject
        try:
            answer = ANSWERS[subject].model_validate_json(msg.body)
        except (KeyError, ValidationError) as exc:
            await self._dead_letters.record(msg, poison_from(exc, subject=subject))
            return
        with job_context(answer.job_id, event_id=answer.event_id, subject=subject):
            await settle(
                msg,
                self._apply(answer, msg),
                policy=self._policy,
                stage="gateway",
                fail=self._give_up,
            )

    async def _apply(
        self, answer: CompositionAssembled | CompositionAssemblyFailed, msg: NatsMessage
    ) -> None:
        outcome = await apply_answer(
            self._sessions, answer, notify=self._notify, webhooks=self._webhooks
        )
        if outcome is Outcome.UNKNOWN:
            # recorded and terminated here; settle's acknowledgement then does nothing
            reason = f"no composition {answer.job_id!r} in the gateway's database"
            await self._dead_letters.record(msg, Poison.of(PoisonCode.UNKNOWN_JOB, reason))

    async def _give_up(self, error: JobError) -> None:
        # the database kept failing: the answer stays in the stream's history; the
        # composition stays ``assembling`` until an operator replays it
        log.error("composition.answer_given_up", code=error.code, error=error.message)


def answers_consumer(nats: NatsSettings) -> ConsumerConfig:
    return consumer_config(nats, durable=DURABLE, filter_subjects=list(ANSWERS))


def register_answers(
    broker: NatsBroker,
    *,
    sessions: async_sessionmaker[AsyncSession],
    nats: NatsSettings,
    notify: Notify | None = None,
    webhooks: DeliveryRecorder | None = None,
) -> AssemblyAnswers:
    """Subscribe to the assembler's answers on ``broker`` (starts with the broker)."""
    answers = AssemblyAnswers(
        sessions=sessions,
        nats=nats,
        notify=notify,
        webhooks=webhooks,
        dead_letters=DeadLetters.for_consumer(broker, nats, DURABLE),
    )
    broker.subscriber(
        "composition.>",
        stream=JStream(nats.stream, declare=False),
        durable=DURABLE,
        config=answers_consumer(nats),
        pull_sub=PullSub(batch_size=1, timeout=FETCH_TIMEOUT_SECONDS),
        ack_policy=AckPolicy.MANUAL,
        title="gateway-compositions",
        description="Settles compositions on the assembler's answers.",
    )(answers.on_answer)
    return answers
