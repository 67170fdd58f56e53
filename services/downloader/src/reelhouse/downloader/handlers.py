"""The downloader's one entry point: ``gen.output.v1`` on the durable pull consumer ``downloader``.

Accept the message, bind the job id, run the ingest, publish the result; the delivery policy
(ack, nak with delay, failure event, heartbeats) is ``reelhouse.common.delivery.settle``.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from faststream import AckPolicy, Context
from faststream.nats import NatsBroker, NatsMessage, PullSub
from pydantic import ValidationError

from reelhouse.common.broker import consumer_config, jetstream, publish_event
from reelhouse.common.deadletter import DeadLetters, declare_deadletters, poison_from
from reelhouse.common.delivery import DeliveryPolicy, logged_attempt, settle
from reelhouse.common.events import GenerationFailed, GenerationOutputReady, JobError
from reelhouse.common.logging import job_context
from reelhouse.downloader import metrics
from reelhouse.downloader.ingest import Ingestor
from reelhouse.downloader.settings import Settings

log = structlog.get_logger(__name__)

DURABLE = "downloader"
SOURCE = "downloader"
# how long one pull waits for messages before asking again
PULL_TIMEOUT_SECONDS = 5.0

IngestorDep = Annotated[Ingestor, Context("ingestor")]
PolicyDep = Annotated[DeliveryPolicy, Context("delivery_policy")]
BrokerDep = Annotated[NatsBroker, Context("broker")]
# the stream every result is published to: settings.nats.stream (REELHOUSE_NATS__STREAM)
StreamDep = Annotated[str, Context("stream")]
# where poison messages are recorded: settings.nats.deadletter_stream, for this consumer
DeadLettersDep = Annotated[DeadLetters, Context("dead_letters")]


def failed_event_id(job_id: str) -> str:
    return f"{job_id}:failed"


async def on_output_ready(
    msg: NatsMessage,
    broker: BrokerDep,
    ingestor: IngestorDep,
    policy: PolicyDep,
    stream: StreamDep,
    dead_letters: DeadLettersDep,
) -> None:
    try:
        event = GenerationOutputReady.model_validate_json(msg.body)
    except ValidationError as exc:
        # no job to fail and nothing a retry could fix: recorded, then never redelivered
        await dead_letters.record(msg, poison_from(exc, subject=msg.raw_message.subject))
        return

    async def fail(error: JobError) -> None:
        failed = GenerationFailed(
            event_id=failed_event_id(event.job_id), job_id=event.job_id, error=error
        )
        await publish_event(broker, failed, source=SOURCE, stream=stream)

    async def download() -> None:
        try:
            stored = await ingestor.ingest(event)
        except Exception as exc:
            metrics.observe_failure(exc)
            raise
        metrics.observe_stored(stored)
        await publish_event(broker, stored, source=SOURCE, stream=stream)

    with job_context(event.job_id):
        log.info("download.received", outputs=len(event.outputs), attempt=logged_attempt(msg))
        await settle(msg, download(), policy=policy, stage="download", fail=fail)


def subscribe(broker: NatsBroker, settings: Settings) -> None:
    """Register ``on_output_ready`` on the durable, manually acknowledged pull consumer."""
    subject = GenerationOutputReady.subject
    declare_deadletters(broker, settings.nats)
    broker.subscriber(
        subject,
        stream=jetstream(settings.nats),
        durable=DURABLE,
        config=consumer_config(settings.nats, durable=DURABLE, filter_subjects=[subject]),
        # a fetched batch is handled at once, so no fetched message waits without heartbeats
        pull_sub=PullSub(batch_size=settings.concurrency, timeout=PULL_TIMEOUT_SECONDS),
        ack_policy=AckPolicy.MANUAL,
        title="downloader:gen.output.v1",
    )(on_output_ready)
