"""Thin entry points: decode, bind the job id, call the use case, settle the message.

``dispatcher`` (``gen.requested.v1``, ``gen.cancel.v1``) is settled by the shared
delivery policy. ``dispatcher-poll`` (``dispatch.poll.v1``) is the scheduler: the
same message is negatively acknowledged with a delay until the prediction is
final, so it has unbounded deliveries and the deadline inside the message bounds it.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated

import structlog
from faststream import AckPolicy, Context
from faststream.nats import NatsBroker, NatsMessage, NatsRouter, PullSub
from pydantic import ValidationError

from reelhouse.common.broker import consumer_config, jetstream
from reelhouse.common.deadletter import (
    DeadLetters,
    Poison,
    PoisonCode,
    declare_deadletters,
    poison_from,
)
from reelhouse.common.delivery import DeliveryPolicy, heartbeats, settle
from reelhouse.common.events import (
    CancelRequested,
    Event,
    GenerationRequested,
    PollPrediction,
    parse_event,
)
from reelhouse.common.logging import job_context
from reelhouse.dispatcher.decisions import provider_error
from reelhouse.dispatcher.service import DispatchService
from reelhouse.dispatcher.settings import Settings

log = structlog.get_logger(__name__)

SERVICE_CONTEXT_KEY = "dispatch_service"
Dispatch = Annotated[DispatchService, Context(SERVICE_CONTEXT_KEY)]
Broker = Annotated[NatsBroker, Context("broker")]

DISPATCH_CONSUMER = "dispatcher"
POLL_CONSUMER = "dispatcher-poll"


async def _decode(msg: NatsMessage, dead_letters: DeadLetters) -> Event | None:
    """The event, or None once a message nobody could ever handle is recorded as poison."""
    subject = msg.raw_message.subject
    try:
        return parse_event(subject, msg.body)
    except (KeyError, ValidationError) as exc:
        await dead_letters.record(msg, poison_from(exc, subject=subject))
        return None


async def _unexpected(msg: NatsMessage, event: Event, dead_letters: DeadLetters) -> None:
    """An event this consumer's filter should never have let through."""
    reason = f"{type(event).__name__} is not handled by this consumer"
    await dead_letters.record(msg, Poison.of(PoisonCode.UNKNOWN_SUBJECT, reason))


def build_router(settings: Settings) -> NatsRouter:
    router = NatsRouter()
    stream = jetstream(settings.nats)
    policy = DeliveryPolicy(
        max_deliver=settings.nats.max_deliver, ack_wait_seconds=settings.nats.ack_wait_seconds
    )
    declare_deadletters(router, settings.nats)

    @router.subscriber(
        stream=stream,
        durable=DISPATCH_CONSUMER,  # nats-py binds by this name; the config alone is not enough
        config=consumer_config(
            settings.nats,
            durable=DISPATCH_CONSUMER,
            filter_subjects=[GenerationRequested.subject, CancelRequested.subject],
        ),
        pull_sub=PullSub(),
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_generation_command(msg: NatsMessage, service: Dispatch, broker: Broker) -> None:
        dead_letters = DeadLetters.for_consumer(broker, settings.nats, DISPATCH_CONSUMER)
        event = await _decode(msg, dead_letters)
        if event is None:
            return
        with job_context(event.job_id):
            if isinstance(event, GenerationRequested):
                work = service.submit(event)
            elif isinstance(event, CancelRequested):
                work = service.cancel(event)
            else:
                await _unexpected(msg, event, dead_letters)
                return
            fail = partial(service.fail, event.job_id)
            await settle(msg, work, policy=policy, stage="provider", fail=fail)

    @router.subscriber(
        stream=stream,
        durable=POLL_CONSUMER,
        config=consumer_config(
            settings.nats,
            durable=POLL_CONSUMER,
            filter_subjects=[PollPrediction.subject],
            max_deliver=-1,
        ),
        pull_sub=PullSub(),
        ack_policy=AckPolicy.MANUAL,
    )
    async def on_poll_prediction(msg: NatsMessage, service: Dispatch, broker: Broker) -> None:
        dead_letters = DeadLetters.for_consumer(broker, settings.nats, POLL_CONSUMER)
        event = await _decode(msg, dead_letters)
        if event is None:
            return
        if not isinstance(event, PollPrediction):
            await _unexpected(msg, event, dead_letters)
            return
        with job_context(event.job_id, provider_request_id=event.provider_request_id):
            async with heartbeats(msg, every=policy.heartbeat_seconds):
                try:
                    delay = await service.poll(event)
                except Exception as exc:
                    delay = await _after_poll_error(service, event, exc)
            if delay is None:
                await msg.ack()
            else:
                await msg.nack(delay=delay)

    return router


async def _after_poll_error(
    service: DispatchService, command: PollPrediction, exc: Exception
) -> float | None:
    """Unexpected trouble (broker, bucket, a bug): retry, but never past the deadline."""
    log.error("poll.error", error=repr(exc))
    if command.trigger == "webhook":  # a one-off look: the scheduled poll carries on
        return None
    if service.now() < command.deadline_at:
        return service.poll_interval_seconds
    error = provider_error(
        "provider_timeout", detail=f"polling kept failing until the deadline: {exc!r}"[:500]
    )
    try:
        await service.fail(command.job_id, error)
    except Exception as publish_exc:
        log.error("poll.fail_unpublished", error=repr(publish_exc))
        return service.poll_interval_seconds
    return None
