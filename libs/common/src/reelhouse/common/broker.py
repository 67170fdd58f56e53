"""FastStream NATS wiring shared by the services: the stream, consumers, publishing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from faststream.nats import ConsumerConfig, JStream, NatsBroker
from faststream.types import BrokerMiddleware
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy as JsAckPolicy
from nats.js.api import DeliverPolicy, PubAck, StreamConfig

from reelhouse.common.events import Event
from reelhouse.common.settings import NatsSettings
from reelhouse.common.streams import stream_config

# how long a JetStream publish waits for the stream's acknowledgement. FastStream's default is
# 0.5 s: a broker further away or busier than that (a slow link, an fsync under load) failed
# every publish, though most were stored, and the outbox relay never got past its first row
PUBLISH_ACK_SECONDS = 5.0


def build_broker(
    settings: NatsSettings, *, name: str, middlewares: Sequence[BrokerMiddleware[Any, Any]] = ()
) -> NatsBroker:
    """A broker that reconnects on its own; nothing connects until it starts.

    ``middlewares`` wrap every consume and publish (telemetry, for instance).
    """
    return NatsBroker(
        settings.url,
        name=name,
        connect_timeout=max(1, round(settings.connect_timeout)),
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        # FastStream's own logger prints coloured lines to stdout; route it through the
        # stdlib root handler that configure_logging() renders as structured lines, and keep
        # its per-message "Received/Processed" chatter at DEBUG
        logger=logging.getLogger("reelhouse.faststream"),
        log_level=logging.DEBUG,
        middlewares=middlewares,
    )


def jstream_of(config: StreamConfig) -> JStream:
    """A stream configuration as FastStream declares it."""
    return JStream(
        name=config.name or "",
        subjects=config.subjects,
        retention=config.retention,
        storage=config.storage,
        discard=config.discard,
        max_age=config.max_age,
        duplicate_window=config.duplicate_window or 0,
        num_replicas=config.num_replicas or 1,
    )


def jetstream(settings: NatsSettings) -> JStream:
    """The REELHOUSE stream as FastStream declares it: the very config ``ensure_stream`` applies."""
    return jstream_of(stream_config(settings))


def consumer_config(
    settings: NatsSettings,
    *,
    durable: str,
    filter_subjects: list[str],
    max_deliver: int | None = None,
    ack_wait_seconds: float | None = None,
) -> ConsumerConfig:
    """A durable, explicitly acknowledged pull consumer shared by a role's replicas."""
    return ConsumerConfig(
        durable_name=durable,
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=JsAckPolicy.EXPLICIT,
        ack_wait=ack_wait_seconds or settings.ack_wait_seconds,
        max_deliver=max_deliver or settings.max_deliver,
        filter_subjects=filter_subjects,
    )


async def publish_event(broker: NatsBroker, event: Event, *, source: str, stream: str) -> None:
    """Publish to JetStream and wait for the broker's acknowledgement (de-duplicated by id).

    ``stream`` is ``settings.nats.stream`` (``REELHOUSE_NATS__STREAM``), always passed: a
    default here would publish to a stream that does not exist when an operator renames it.
    """
    await publish_serialised(
        broker,
        subject=event.subject,
        body=event.model_dump_json().encode(),
        headers=event.ce_headers(source),
        stream=stream,
    )


async def publish_serialised(
    broker: NatsBroker, *, subject: str, body: bytes, headers: Mapping[str, str], stream: str
) -> PubAck | None:
    """``publish_event`` for an event kept serialised (the gateway's outbox): its JSON body and
    ``Event.ce_headers``, published as they are, without decoding and encoding them again.
    Returns the stream's acknowledgement (``duplicate`` when it dropped the id as seen)."""
    return await broker.publish(
        body,
        subject=subject,
        headers={**headers, "content-type": "application/json"},
        stream=stream,
        timeout=PUBLISH_ACK_SECONDS,
    )


async def announce_event(broker: NatsBroker, event: Event, *, source: str, stream: str) -> bool:
    """``publish_event`` for a result that several workers may race to announce (ADR 0014).

    True when the stream's message under ``event``'s id is this very event: stored now, or
    by an earlier try of this same call whose acknowledgement was lost. False when the broker
    dropped it as a duplicate of a different body: another worker's announcement came first.
    When the first one cannot be read back (gone from the stream) the answer is True: a
    caller that deletes what a False names must never delete what was announced.
    """
    body = event.model_dump_json().encode()
    ack = await publish_serialised(
        broker, subject=event.subject, body=body, headers=event.ce_headers(source), stream=stream
    )
    if ack is None or not ack.duplicate:
        return True
    js = broker.config.connection_state.stream
    try:
        first = await asyncio.wait_for(js.get_msg(ack.stream, ack.seq), PUBLISH_ACK_SECONDS)
    except (NatsError, TimeoutError):
        return True
    return first.data is None or first.data == body
