"""The assembler's one entry point: ``composition.ready.v1`` on the durable pull consumer
``assembler``.

Accept the message, bind the composition id, run the assembly (which announces its result); the
delivery policy (ack, nak with delay, failure event, heartbeats) is
``reelhouse.common.delivery.settle``. Heartbeats are sent only while the film function
reports progress (``Progress``), so a stuck encoder is not kept alive forever.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

import structlog
from faststream import AckPolicy, Context
from faststream.nats import NatsBroker, NatsMessage, PullSub
from nats.errors import Error as NatsError
from pydantic import ValidationError

from reelhouse.assembler import metrics
from reelhouse.assembler.assembly import Assembler, failed_event_id
from reelhouse.assembler.progress import Progress
from reelhouse.assembler.settings import Settings
from reelhouse.common.broker import announce_event, consumer_config, jetstream, publish_event
from reelhouse.common.composition_events import (
    CompositionAssembled,
    CompositionAssemblyFailed,
    CompositionReady,
)
from reelhouse.common.deadletter import DeadLetters, declare_deadletters, poison_from
from reelhouse.common.delivery import DeliveryPolicy, logged_attempt, settle
from reelhouse.common.events import JobError
from reelhouse.common.logging import job_context

log = structlog.get_logger(__name__)

DURABLE = "assembler"
SOURCE = "assembler"
# how long one pull waits for messages before asking again
PULL_TIMEOUT_SECONDS = 5.0
# tries of one announcement before the delivery is given back (the pause grows by this each try)
ANNOUNCE_ATTEMPTS = 3
ANNOUNCE_RETRY_SECONDS = 1.0

AssemblerDep = Annotated[Assembler, Context("assembler")]
PolicyDep = Annotated[DeliveryPolicy, Context("delivery_policy")]
BrokerDep = Annotated[NatsBroker, Context("broker")]
# the stream every result is published to: settings.nats.stream (REELHOUSE_NATS__STREAM)
StreamDep = Annotated[str, Context("stream")]
# seconds without progress from the film function before heartbeats stop
StallDep = Annotated[float, Context("stall_seconds")]
# where poison messages are recorded: settings.nats.deadletter_stream, for this consumer
DeadLettersDep = Annotated[DeadLetters, Context("dead_letters")]


async def on_composition_ready(
    msg: NatsMessage,
    broker: BrokerDep,
    assembler: AssemblerDep,
    policy: PolicyDep,
    stream: StreamDep,
    stall_seconds: StallDep,
    dead_letters: DeadLettersDep,
) -> None:
    try:
        event = CompositionReady.model_validate_json(msg.body)
    except ValidationError as exc:
        # no composition to fail and nothing a retry could fix: recorded, never redelivered
        await dead_letters.record(msg, poison_from(exc, subject=msg.raw_message.subject))
        return

    async def fail(error: JobError) -> None:
        failed = CompositionAssemblyFailed(
            event_id=failed_event_id(event.job_id, event.assembly),
            job_id=event.job_id,
            assembly=event.assembly,
            error=error,
        )
        await publish_event(broker, failed, source=SOURCE, stream=stream)

    progress = Progress(stall_seconds=stall_seconds)

    async def announce(assembled: CompositionAssembled) -> bool:
        """Tried again in place (same body: a stored earlier try still counts as this run's);
        given up, the delivery is retried and its new run comes second or announces itself."""
        for attempt in range(1, ANNOUNCE_ATTEMPTS + 1):
            try:
                return await announce_event(broker, assembled, source=SOURCE, stream=stream)
            except (NatsError, TimeoutError, OSError) as exc:
                if attempt >= ANNOUNCE_ATTEMPTS:
                    raise
                log.warning("assembly.announce_retrying", attempt=attempt, error=repr(exc))
                await asyncio.sleep(ANNOUNCE_RETRY_SECONDS * attempt)
        raise AssertionError("unreachable")

    async def assemble() -> None:
        started = time.monotonic()
        with metrics.in_flight():
            try:
                assembled = await assembler.assemble(event, progress, announce)
            except Exception as exc:
                metrics.observe_failure(exc)
                raise
        metrics.observe_assembled(assembled, started=started)

    with job_context(event.job_id, assembly=event.assembly):
        log.info(
            "assembly.received",
            scenes=len(event.scenes),
            audio=event.audio is not None,
            transition=event.transition.type,
            attempt=logged_attempt(msg),
        )
        await settle(
            msg, assemble(), policy=policy, stage="assembly", fail=fail, alive=progress.alive
        )


def subscribe(broker: NatsBroker, settings: Settings) -> None:
    """Register ``on_composition_ready`` on the durable, manually acknowledged pull consumer."""
    subject = CompositionReady.subject
    declare_deadletters(broker, settings.nats)
    broker.subscriber(
        subject,
        stream=jetstream(settings.nats),
        durable=DURABLE,
        config=consumer_config(settings.nats, durable=DURABLE, filter_subjects=[subject]),
        # a fetched batch is handled at once, so no fetched message waits without heartbeats
        pull_sub=PullSub(batch_size=settings.concurrency, timeout=PULL_TIMEOUT_SECONDS),
        ack_policy=AckPolicy.MANUAL,
        title="assembler:composition.ready.v1",
    )(on_composition_ready)
