"""The shared delivery policy: ack, retry with backoff, fail on the last delivery, heartbeats."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg
from structlog.testing import capture_logs

from reelhouse.common.delivery import (
    DeliveryPolicy,
    delivery_count,
    heartbeats,
    logged_attempt,
    settle,
)
from reelhouse.common.errors import TransientError
from reelhouse.common.events import JobError


def test_backoff_doubles_and_is_capped() -> None:
    policy = DeliveryPolicy(
        max_deliver=8, ack_wait_seconds=30, base_delay_seconds=1, max_delay_seconds=10
    )
    assert [policy.delay_for(n) for n in range(1, 6)] == [1, 2, 4, 8, 10]


def test_heartbeat_is_well_inside_the_ack_wait() -> None:
    assert DeliveryPolicy(max_deliver=3, ack_wait_seconds=30).heartbeat_seconds == 10
    assert DeliveryPolicy(max_deliver=3, ack_wait_seconds=0.3).heartbeat_seconds == 0.5


# --- settling a delivery, against a fake message that carries a real nats-py ``Msg`` ---


@dataclass
class FakeDelivery:
    """The parts of FastStream's ``NatsMessage`` that settling uses, recording what it did."""

    raw_message: Msg
    settled: list[tuple[str, float | None]] = field(default_factory=list)
    beats: int = 0
    # in_progress() raises this many times, then succeeds
    failing_beats: int = 0
    beat_seen: asyncio.Event = field(default_factory=asyncio.Event)

    async def ack(self) -> None:
        self.settled.append(("ack", None))

    async def nack(self, delay: float | None = None) -> None:
        self.settled.append(("nak", delay))

    async def in_progress(self) -> None:
        self.beats += 1
        self.beat_seen.set()
        if self.beats <= self.failing_beats:
            raise ConnectionError("nats: connection closed")


def delivered(reply: str) -> FakeDelivery:
    return FakeDelivery(Msg(_client=Client(), subject="gen.output.v1", reply=reply, data=b"{}"))


def jetstream_reply(num_delivered: str) -> str:
    """A JetStream ack subject: stream, consumer, delivered, stream seq, consumer seq, ts, pending."""
    return f"$JS.ACK.REELHOUSE.downloader.{num_delivered}.10.10.1700000000000000000.0"


@dataclass
class RecordedFailures:
    errors: list[JobError] = field(default_factory=list)

    async def __call__(self, error: JobError) -> None:
        self.errors.append(error)


async def broken_work() -> None:
    raise TransientError("download_failed", "origin reset the connection")


POLICY = DeliveryPolicy(max_deliver=4, ack_wait_seconds=30, base_delay_seconds=1)


async def test_a_failed_delivery_is_retried_with_the_backoff_of_its_attempt() -> None:
    msg = delivered(jetstream_reply("2"))
    failures = RecordedFailures()

    await settle(msg, broken_work(), policy=POLICY, stage="download", fail=failures)

    assert msg.settled == [("nak", 2.0)]
    assert failures.errors == []


async def test_the_last_delivery_fails_the_job_instead_of_retrying() -> None:
    msg = delivered(jetstream_reply("4"))
    failures = RecordedFailures()

    await settle(msg, broken_work(), policy=POLICY, stage="download", fail=failures)

    assert msg.settled == [("ack", None)]
    [error] = failures.errors
    assert error.code == "max_deliveries_exceeded"
    assert "origin reset the connection" in error.message


async def test_a_core_nats_message_counts_as_its_first_delivery() -> None:
    msg = delivered("")  # no JetStream reply subject, as under TestNatsBroker
    assert delivery_count(msg) == 1

    await settle(msg, broken_work(), policy=POLICY, stage="download", fail=RecordedFailures())

    assert msg.settled == [("nak", 1.0)]


async def test_an_unreadable_delivery_count_fails_the_job_loudly_rather_than_drop_it() -> None:
    # guessing "first delivery" would nak it again and again until JetStream's own
    # max_deliver dropped it without a failure event: the job would stay stuck forever
    msg = delivered(jetstream_reply("not-a-number"))
    failures = RecordedFailures()

    with pytest.raises(ValueError, match="not-a-number"):
        delivery_count(msg)
    with capture_logs() as logs:
        await settle(msg, broken_work(), policy=POLICY, stage="download", fail=failures)

    assert msg.settled == [("ack", None)]
    [error] = failures.errors
    assert error.code == "internal_error"
    assert error.stage == "download"
    assert "delivery count could not be read" in error.message
    assert "origin reset the connection" in error.message
    [logged] = [entry for entry in logs if entry["event"] == "delivery.count_unreadable"]
    assert logged["log_level"] == "error"
    assert "not-a-number" in logged["error"]


async def test_heartbeat_failures_are_logged_and_the_work_carries_on() -> None:
    msg = delivered(jetstream_reply("1"))
    msg.failing_beats = 2

    with capture_logs() as logs:
        async with heartbeats(msg, every=0.01):
            async with asyncio.timeout(10):
                while msg.beats < 3:
                    msg.beat_seen.clear()
                    await msg.beat_seen.wait()

    events = [entry["event"] for entry in logs]
    assert events[:3] == [
        "delivery.heartbeat_failed",
        "delivery.heartbeat_failed",
        "delivery.heartbeat_restored",
    ]
    assert [entry.get("failures") for entry in logs[:3]] == [1, 2, 2]
    assert "connection closed" in logs[0]["error"]


async def test_heartbeats_are_withheld_while_the_work_reports_no_progress() -> None:
    msg = delivered(jetstream_reply("1"))
    progressing = asyncio.Event()
    withheld = asyncio.Event()

    def alive() -> bool:
        if not progressing.is_set():
            withheld.set()
        return progressing.is_set()

    with capture_logs() as logs:
        async with heartbeats(msg, every=0.01, alive=alive):
            async with asyncio.timeout(10):
                await withheld.wait()
                await asyncio.sleep(0.05)  # several beats' worth of stalled work
                assert msg.beats == 0
                progressing.set()
                await msg.beat_seen.wait()

    assert msg.beats >= 1
    assert [e["event"] for e in logs].count("delivery.heartbeat_withheld") == 1


async def test_settle_sends_heartbeats_while_the_work_runs() -> None:
    msg = delivered(jetstream_reply("1"))
    policy = DeliveryPolicy(max_deliver=4, ack_wait_seconds=0.3)  # a heartbeat each 0.5 s

    async def slow_work() -> None:
        async with asyncio.timeout(10):
            await msg.beat_seen.wait()

    await settle(msg, slow_work(), policy=policy, stage="download", fail=RecordedFailures())

    assert msg.beats >= 1
    assert msg.settled == [("ack", None)]


def test_a_log_line_survives_an_unreadable_delivery_count() -> None:
    assert logged_attempt(delivered(jetstream_reply("3"))) == 3
    assert logged_attempt(delivered(jetstream_reply("not-a-number"))) is None
