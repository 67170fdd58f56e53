"""Poison messages for a consumer, and what the dead-letter stream holds about them (real NATS)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo
from nats.js.errors import NotFoundError

from reelhouse.common.deadletter import (
    CODE_HEADER,
    CONSUMER_HEADER,
    DELIVERIES_HEADER,
    MAX_REASON_CHARS,
    MSG_ID_HEADER,
    ORIGINAL_SUBJECT_HEADER,
    REASON_HEADER,
    STREAM_SEQUENCE_HEADER,
    PoisonCode,
    deadletter_subject,
)

WAIT_SECONDS = 30.0
POLL_SECONDS = 0.1

# the two poisons every consumer meets: bytes that are no JSON, and JSON of the wrong shape
NOT_JSON = b"\xff\xfe this is { not json"
WRONG_SHAPE = b'{"job_id": "job-poison-shape", "event_id": 42, "surprise": true}'
POISONS = [(NOT_JSON, PoisonCode.UNDECODABLE), (WRONG_SHAPE, PoisonCode.INVALID_EVENT)]


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    subject: str
    body: bytes
    headers: dict[str, str]


async def publish_poison(js: JetStreamContext, subject: str, body: bytes, *, stream: str) -> int:
    """Publish ``body`` on ``subject`` as any publisher could; its stream sequence."""
    ack = await js.publish(subject, body, stream=stream)
    return ack.seq


async def records_for(
    js: JetStreamContext, deadletter_stream: str, *, stream: str, seq: int
) -> list[DeadLetterRecord]:
    """Every record of the stream message ``stream``/``seq`` (JetStream keeps at most one)."""
    try:
        info = await js.stream_info(deadletter_stream)
    except NotFoundError:
        return []
    found: list[DeadLetterRecord] = []
    if info.state.messages == 0:
        return found
    for position in range(max(1, info.state.first_seq), info.state.last_seq + 1):
        try:
            msg = await js.get_msg(deadletter_stream, position)
        except NotFoundError:
            continue
        headers = dict(msg.headers or {})
        if headers.get(MSG_ID_HEADER, "").startswith(f"{stream}:{seq}:"):
            found.append(DeadLetterRecord(msg.subject or "", msg.data or b"", headers))
    return found


async def wait_for_record(
    js: JetStreamContext, deadletter_stream: str, *, stream: str, seq: int
) -> DeadLetterRecord:
    """The one record of ``stream``/``seq`` (bounded wait); fails if there are two."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            found = await records_for(js, deadletter_stream, stream=stream, seq=seq)
            if found:
                assert len(found) == 1, found
                return found[0]
            await asyncio.sleep(POLL_SECONDS)


async def wait_drained(js: JetStreamContext, stream: str, consumer: str) -> ConsumerInfo:
    """Until ``consumer`` has nothing pending and nothing unacknowledged (bounded wait)."""
    async with asyncio.timeout(WAIT_SECONDS):
        while True:
            info: ConsumerInfo = await js.consumer_info(stream, consumer)
            if info.num_pending == 0 and info.num_ack_pending == 0:
                return info
            await asyncio.sleep(POLL_SECONDS)


def assert_recorded(
    record: DeadLetterRecord,
    *,
    subject: str,
    body: bytes,
    code: PoisonCode,
    consumer: str,
    seq: int,
) -> None:
    """The record keeps the body as it was and says where it came from, and why, once."""
    assert record.subject == deadletter_subject(subject)
    assert record.body == body
    headers = record.headers
    assert headers[CODE_HEADER] == code.value
    assert 0 < len(headers[REASON_HEADER]) <= MAX_REASON_CHARS
    assert headers[ORIGINAL_SUBJECT_HEADER] == subject
    assert headers[CONSUMER_HEADER] == consumer
    assert headers[STREAM_SEQUENCE_HEADER] == str(seq)
    # handled on its first delivery: terminated, never redelivered
    assert headers[DELIVERIES_HEADER] == "1"
