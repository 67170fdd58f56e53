"""Poison messages: recorded on the dead-letter stream with a reason, then terminated.

A poison message is one no delivery could ever handle: its body is not JSON
(``undecodable``), does not fit its event (``invalid_event``), arrives on a subject no event is
known for — a version this build does not speak (``unknown_subject``) — or names a job the
consumer does not know (``unknown_job``). A valid event whose work fails is not poison: the
delivery policy (``reelhouse.common.delivery.settle``) retries it or fails its job.

``DeadLetters.record`` publishes the original body, unchanged, to
``deadletter.<original subject>`` on the stream ``settings.nats.deadletter_stream`` with the
``Reelhouse-Dead-Letter-*`` headers below and ``Nats-Msg-Id`` = ``<stream>:<sequence>:<consumer>``, so a
poison message redelivered before its termination landed is recorded once. Only once JetStream
has acknowledged the record is the original terminated (never redelivered); when the record
cannot be published, the original is negatively acknowledged with a delay and tried again.
Each record logs ``deadletter.recorded`` and counts ``reelhouse_dead_letters_total``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import structlog
from faststream.nats import JStream, NatsBroker, NatsRouter
from nats.aio.msg import Msg
from nats.errors import NotJSMessageError
from nats.js.api import PubAck
from pydantic import ValidationError

from reelhouse.common.broker import jstream_of
from reelhouse.common.delivery import Delivery
from reelhouse.common.metrics import DEAD_LETTERS
from reelhouse.common.settings import NatsSettings
from reelhouse.common.streams import (
    DEADLETTER_PREFIX,
    DEADLETTER_SUBJECTS,
    deadletter_stream_config,
)

log = structlog.get_logger(__name__)

REASON_HEADER = "Reelhouse-Dead-Letter-Reason"
CODE_HEADER = "Reelhouse-Dead-Letter-Code"
ORIGINAL_SUBJECT_HEADER = "Reelhouse-Original-Subject"
CONSUMER_HEADER = "Reelhouse-Consumer"
STREAM_SEQUENCE_HEADER = "Reelhouse-Stream-Sequence"
DELIVERIES_HEADER = "Reelhouse-Deliveries"
MSG_ID_HEADER = "Nats-Msg-Id"

# a reason is for a human reading a header: long pydantic reports are cut here
MAX_REASON_CHARS = 400
# a job id read out of a poison body is only a log field
MAX_JOB_ID_CHARS = 128
# how long publishing one record may take before the original is retried later
PUBLISH_TIMEOUT_SECONDS = 5.0
# nak delays while the dead-letter stream cannot be written: 5 s doubling up to 5 min
RETRY_BASE_SECONDS = 5.0
RETRY_MAX_SECONDS = 300.0


class PoisonCode(StrEnum):
    UNDECODABLE = "undecodable"
    INVALID_EVENT = "invalid_event"
    UNKNOWN_SUBJECT = "unknown_subject"
    UNKNOWN_JOB = "unknown_job"


@dataclass(frozen=True, slots=True)
class Poison:
    """Why a message can never be handled: a machine code and a bounded human reason."""

    code: PoisonCode
    reason: str

    @classmethod
    def of(cls, code: PoisonCode, reason: str) -> Poison:
        return cls(code=code, reason=bounded_reason(reason))


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a poison message came from, as JetStream delivered it."""

    subject: str
    stream: str | None
    stream_seq: int | None
    deliveries: int


def bounded_reason(text: str) -> str:
    """One line of printable ASCII, at most ``MAX_REASON_CHARS`` (a NATS header value)."""
    flat = re.sub(r"\s+", " ", text).strip()
    ascii_only = flat.encode("ascii", "backslashreplace").decode("ascii")
    if len(ascii_only) <= MAX_REASON_CHARS:
        return ascii_only
    return ascii_only[: MAX_REASON_CHARS - 3] + "..."


def poison_from(exc: Exception, *, subject: str) -> Poison:
    """The poison a decoding failure means: ``KeyError`` from ``parse_event`` (no event on
    ``subject``) or a pydantic ``ValidationError`` (not JSON, or not the event's shape)."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False, include_input=False)
        if any(error["type"] == "json_invalid" for error in errors):
            return Poison.of(PoisonCode.UNDECODABLE, f"the body is not JSON: {_summary(errors)}")
        return Poison.of(
            PoisonCode.INVALID_EVENT,
            f"the body does not fit {exc.title} ({exc.error_count()} errors): {_summary(errors)}",
        )
    if isinstance(exc, KeyError):
        return Poison.of(
            PoisonCode.UNKNOWN_SUBJECT,
            f"no event is known on subject {subject!r} (an unknown version?)",
        )
    return Poison.of(PoisonCode.INVALID_EVENT, f"{type(exc).__name__}: {exc}")


def _summary(errors: Sequence[Mapping[str, object]]) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in _loc(error)) or 'body'}: {error.get('msg', '')}"
        for error in errors[:5]
    )


def _loc(error: Mapping[str, object]) -> tuple[object, ...]:
    loc = error.get("loc", ())
    return tuple(loc) if isinstance(loc, tuple | list) else ()


def job_id_in(body: bytes) -> str | None:
    """The ``job_id`` a poison body names, when it is JSON with one (for the log line only)."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    job_id = document.get("job_id") if isinstance(document, dict) else None
    return job_id[:MAX_JOB_ID_CHARS] if isinstance(job_id, str) else None


def origin_of(raw: Msg) -> Origin:
    """Subject, stream, stream sequence and delivery count of a delivered message; a core-NATS
    message (``TestNatsBroker``) has no stream and is delivered once."""
    try:
        metadata = raw.metadata
    except NotJSMessageError:
        return Origin(subject=raw.subject, stream=None, stream_seq=None, deliveries=1)
    return Origin(
        subject=raw.subject,
        stream=metadata.stream,
        stream_seq=metadata.sequence.stream,
        deliveries=metadata.num_delivered,
    )


def deadletter_subject(subject: str) -> str:
    return f"{DEADLETTER_PREFIX}{subject}"


def record_id(origin: Origin, body: bytes, consumer: str) -> str:
    """``Nats-Msg-Id`` of a record: one per stream message and consumer, whatever its
    deliveries (a subject two consumers read, such as ``gen.output.v1``, gets two records)."""
    if origin.stream is not None and origin.stream_seq is not None:
        return f"{origin.stream}:{origin.stream_seq}:{consumer}"
    digest = hashlib.sha256(origin.subject.encode() + b"\0" + body).hexdigest()[:32]
    return f"core:{digest}:{consumer}"


def record_headers(
    origin: Origin,
    poison: Poison,
    *,
    consumer: str,
    body: bytes,
    original: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The record's headers: the original's (but JetStream's own ``Nats-*``), then ours."""
    kept = {
        name: value
        for name, value in (original or {}).items()
        if not name.lower().startswith("nats-")
    }
    headers = {
        **kept,
        MSG_ID_HEADER: record_id(origin, body, consumer),
        REASON_HEADER: poison.reason,
        CODE_HEADER: poison.code.value,
        ORIGINAL_SUBJECT_HEADER: origin.subject,
        CONSUMER_HEADER: consumer,
        DELIVERIES_HEADER: str(origin.deliveries),
    }
    if origin.stream_seq is not None:
        headers[STREAM_SEQUENCE_HEADER] = str(origin.stream_seq)
    return headers


def retry_delay(deliveries: int) -> float:
    """Seconds before a message whose record could not be written is delivered again."""
    return float(min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** max(0, deliveries - 1)))


def deadletter_jstream(settings: NatsSettings) -> JStream:
    """The dead-letter stream as FastStream declares it: the config ``ensure_stream`` applies."""
    return jstream_of(deadletter_stream_config(settings))


def declare_deadletters(registrar: NatsBroker | NatsRouter, settings: NatsSettings) -> None:
    """Declare the dead-letter stream on a broker that declares its streams itself (it is
    created as the broker starts) and describe ``deadletter.>`` in its AsyncAPI."""
    registrar.publisher(
        DEADLETTER_SUBJECTS[0],
        stream=deadletter_jstream(settings),
        title="deadletter",
        description="Poison messages, recorded with a reason before they are terminated.",
    )


class DeadLetterDelivery(Delivery, Protocol):
    """What recording needs of a message: FastStream's ``NatsMessage``."""

    @property
    def body(self) -> bytes: ...

    async def reject(self) -> None: ...


class RecordPublisher(Protocol):
    """What recording needs of a broker: FastStream's ``NatsBroker`` (fakes in unit tests)."""

    async def publish(
        self,
        message: bytes,
        subject: str,
        headers: dict[str, str] | None = None,
        reply_to: str = "",
        correlation_id: str | None = None,
        stream: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - NatsBroker.publish's own parameter
    ) -> PubAck | None: ...


class DeadLetters:
    """Records the poison messages of one durable consumer."""

    def __init__(self, broker: RecordPublisher, *, stream: str, consumer: str) -> None:
        self._broker = broker
        # settings.nats.deadletter_stream (REELHOUSE_NATS__DEADLETTER_STREAM)
        self._stream = stream
        self._consumer = consumer

    @classmethod
    def for_consumer(
        cls, broker: RecordPublisher, settings: NatsSettings, consumer: str
    ) -> DeadLetters:
        return cls(broker, stream=settings.deadletter_stream, consumer=consumer)

    async def record(self, msg: DeadLetterDelivery, poison: Poison) -> bool:
        """Record ``msg`` and terminate it; True once recorded. When the record cannot be
        written the message is negatively acknowledged with a delay (False): never dropped."""
        raw = msg.raw_message
        origin = origin_of(raw)
        body = msg.body
        headers = record_headers(
            origin, poison, consumer=self._consumer, body=body, original=raw.headers
        )
        fields = {
            "subject": origin.subject,
            "consumer": self._consumer,
            "code": poison.code.value,
            "reason": poison.reason,
            "stream_seq": origin.stream_seq,
            "deliveries": origin.deliveries,
            "job_id": job_id_in(body),
        }
        try:
            ack = await asyncio.wait_for(
                self._broker.publish(
                    body,
                    subject=deadletter_subject(origin.subject),
                    headers=headers,
                    stream=self._stream,
                    # JetStream's acknowledgement may take as long (FastStream's own default
                    # of 0.5 s fails every record on a slow broker)
                    timeout=PUBLISH_TIMEOUT_SECONDS,
                ),
                timeout=PUBLISH_TIMEOUT_SECONDS,
            )
        except Exception as exc:
            delay = retry_delay(origin.deliveries)
            log.error("deadletter.unrecorded", **fields, retry_in=delay, error=repr(exc))
            await msg.nack(delay=delay)
            return False
        duplicate = ack is not None and bool(ack.duplicate)
        log.error("deadletter.recorded", **fields, duplicate=duplicate)
        if not duplicate:
            DEAD_LETTERS.labels(self._consumer, poison.code.value).inc()
        # should the termination be lost, the redelivery is recorded as a duplicate and ended
        await msg.reject()
        return True
