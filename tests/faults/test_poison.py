"""A poison message on each consumed subject, published while the mixed batch runs.

Two messages per subject, straight to the real NATS as any publisher could: bytes that are no
JSON and JSON of the wrong shape. Each must end in one dead-letter record per (message,
consumer of that subject) with its code and reason, handled on its first delivery (never a
redelivery loop); every consumer of the subject drained (never a message left hanging); and
the batch around them unharmed.
"""

from __future__ import annotations

import asyncio
import time

import nats
import pytest
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from reelhouse.common.deadletter import CONSUMER_HEADER
from reelhouse.common.events import DEADLETTER_STREAM_NAME, STREAM_NAME
from tests.faults.batch import Batch
from tests.faults.drill import TIMEOUT, Fault, assert_clean, run_drill
from tests.faults.system import DrillSystem
from tests.support.deadletters import (
    POISONS,
    DeadLetterRecord,
    assert_recorded,
    publish_poison,
    records_for,
    wait_drained,
)
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.faults, pytest.mark.timeout(TIMEOUT)]

IN_FLIGHT = frozenset({"submitted", "running", "downloading"})
RECORD_SECONDS = 30.0

# every subject a durable consumer reads, and the consumers that read it (each drill checks
# the stream's consumers against this: a new consumer or subject needs its drill)
CONSUMERS: dict[str, tuple[str, ...]] = {
    "gen.requested.v1": ("dispatcher",),
    "gen.cancel.v1": ("dispatcher",),
    "dispatch.poll.v1": ("dispatcher-poll",),
    "gen.submitted.v1": ("gateway-projector",),
    "gen.progress.v1": ("gateway-projector",),
    "gen.output.v1": ("downloader", "gateway-projector"),
    "gen.attempt_failed.v1": ("gateway-projector",),
    "gen.stored.v1": ("gateway-projector",),
    "gen.failed.v1": ("gateway-projector",),
    "gen.canceled.v1": ("gateway-projector",),
    "composition.ready.v1": ("assembler",),
    "composition.assembled.v1": ("gateway-compositions",),
    "composition.assembly_failed.v1": ("gateway-compositions",),
}


async def _connect(system: DrillSystem) -> tuple[NatsClient, JetStreamContext]:
    client = await nats.connect(system.nats.url, connect_timeout=5, max_reconnect_attempts=3)
    return client, client.jetstream(timeout=10)


async def _publish(system: DrillSystem, subject: str) -> list[int]:
    client, js = await _connect(system)
    try:
        return [await publish_poison(js, subject, body, stream=STREAM_NAME) for body, _ in POISONS]
    finally:
        await client.close()


async def _filters(js: JetStreamContext) -> dict[str, list[str]]:
    """Each durable consumer on the events' stream and the subjects it filters on."""
    found: dict[str, list[str]] = {}
    for info in await js.consumers_info(STREAM_NAME):
        config = info.config
        found[info.name] = list(config.filter_subjects or []) + (
            [config.filter_subject] if config.filter_subject else []
        )
    return found


def _unexercised(filters: dict[str, list[str]]) -> list[str]:
    """Consumers' filters no poison drill covers (a consumer without one reads everything)."""
    return sorted(
        f"{name}: {pattern}"
        for name, patterns in filters.items()
        for pattern in patterns or [">"]
        if pattern not in CONSUMERS
    )


def _matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` is one token, a final ``>`` the rest."""
    wanted, tokens = pattern.split("."), subject.split(".")
    for n, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > n
        if n >= len(tokens) or token not in ("*", tokens[n]):
            return False
    return len(tokens) == len(wanted)


async def _records(
    js: JetStreamContext, seq: int, consumers: tuple[str, ...]
) -> dict[str, list[DeadLetterRecord]]:
    """The records of stream message ``seq`` by consumer, once every consumer has one (bounded)."""
    deadline = time.monotonic() + RECORD_SECONDS
    while True:
        found = await records_for(js, DEADLETTER_STREAM_NAME, stream=STREAM_NAME, seq=seq)
        by_consumer: dict[str, list[DeadLetterRecord]] = {}
        for record in found:
            by_consumer.setdefault(record.headers.get(CONSUMER_HEADER, ""), []).append(record)
        if set(consumers) <= set(by_consumer) or time.monotonic() > deadline:
            return by_consumer
        await asyncio.sleep(0.2)


async def _poison_problems(system: DrillSystem, subject: str, seqs: list[int]) -> list[str]:
    problems: list[str] = []
    consumers = CONSUMERS[subject]
    client, js = await _connect(system)
    try:
        filters = await _filters(js)
        readers = sorted(
            name
            for name, patterns in filters.items()
            if any(_matches(pattern, subject) for pattern in patterns)
        )
        if readers != sorted(consumers):
            problems.append(f"{subject} is read by {readers}, the drill expects {consumers}")
        problems += [f"no poison drill covers {what}" for what in _unexercised(filters)]
        for seq, (body, code) in zip(seqs, POISONS, strict=True):
            by_consumer = await _records(js, seq, consumers)
            for consumer in consumers:
                records = by_consumer.get(consumer, [])
                if len(records) != 1:
                    problems.append(
                        f"{subject} seq {seq} ({code.value}): {len(records)} record(s)"
                        f" for {consumer}"
                    )
                    continue
                try:
                    assert_recorded(
                        records[0],
                        subject=subject,
                        body=body,
                        code=code,
                        consumer=consumer,
                        seq=seq,
                    )
                except AssertionError as exc:
                    problems.append(
                        f"{subject} seq {seq} {consumer}: record {records[0].headers}: {exc!r}"
                    )
            strangers = set(by_consumer) - set(consumers)
            if strangers:
                problems.append(f"{subject} seq {seq}: records by {sorted(strangers)}")
        for consumer in consumers:
            try:
                await wait_drained(js, STREAM_NAME, consumer)
            except TimeoutError:
                info = await js.consumer_info(STREAM_NAME, consumer)
                problems.append(
                    f"{consumer} not drained: {info.num_pending} pending,"
                    f" {info.num_ack_pending} unacknowledged, {info.num_redelivered} redelivered"
                )
    finally:
        await client.close()
    return problems


@pytest.mark.parametrize("subject", list(CONSUMERS))
def test_poison_message(subject: str, system: DrillSystem, receiver: WebhookReceiver) -> None:
    seqs: list[int] = []

    def publish(s: DrillSystem) -> None:
        seqs.extend(asyncio.run(_publish(s, subject)))

    def poison_checks(s: DrillSystem, batch: Batch) -> list[str]:
        return asyncio.run(_poison_problems(s, subject, seqs))

    fault = Fault(
        f"poison messages on {subject} (not JSON; wrong shape)",
        inject=publish,
        clear=lambda s: None,
        when=IN_FLIGHT,
    )
    outcome = run_drill(system, fault, receiver=receiver, more_checks=poison_checks)
    assert len(seqs) == len(POISONS), seqs
    assert_clean(outcome, system)
