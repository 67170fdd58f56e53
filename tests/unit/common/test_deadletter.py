"""Poison messages: the reason they get, the record's headers, and record-then-terminate."""

from __future__ import annotations

import pytest
from nats.aio.msg import Msg
from nats.js.api import PubAck
from prometheus_client import REGISTRY
from pydantic import ValidationError

from reelhouse.common.broker import jetstream
from reelhouse.common.deadletter import (
    CODE_HEADER,
    CONSUMER_HEADER,
    DELIVERIES_HEADER,
    MAX_REASON_CHARS,
    MSG_ID_HEADER,
    ORIGINAL_SUBJECT_HEADER,
    PUBLISH_TIMEOUT_SECONDS,
    REASON_HEADER,
    RETRY_MAX_SECONDS,
    STREAM_SEQUENCE_HEADER,
    DeadLetters,
    Poison,
    PoisonCode,
    bounded_reason,
    deadletter_jstream,
    job_id_in,
    origin_of,
    poison_from,
    record_headers,
    retry_delay,
)
from reelhouse.common.events import GenerationOutputReady, parse_event
from reelhouse.common.settings import NatsSettings
from reelhouse.common.streams import DEADLETTER_MAX_AGE_SECONDS, deadletter_stream_config

SUBJECT = GenerationOutputReady.subject
CONSUMER = "downloader"
# $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<timestamp>.<pending>
ACK_SUBJECT = "$JS.ACK.REELHOUSE.downloader.{delivered}.42.7.1700000000000000000.0"


def poison_of(body: bytes, subject: str = SUBJECT) -> Poison:
    try:
        parse_event(subject, body)
    except (KeyError, ValidationError) as exc:
        return poison_from(exc, subject=subject)
    raise AssertionError("the body decoded")


class FakeMessage:
    """A delivered JetStream message that records how it was settled."""

    def __init__(self, body: bytes, *, delivered: int = 1, headers: dict[str, str] | None = None):
        self.body = body
        self.raw_message = Msg(
            _client=None,  # type: ignore[arg-type]  # never used: settling is recorded here
            subject=SUBJECT,
            reply=ACK_SUBJECT.format(delivered=delivered),
            data=body,
            headers=headers,
        )
        self.settled: list[tuple[str, float | None]] = []

    async def ack(self) -> None:
        self.settled.append(("ack", None))

    async def nack(self, delay: float | None = None) -> None:
        self.settled.append(("nack", delay))

    async def reject(self) -> None:
        self.settled.append(("term", None))

    async def in_progress(self) -> None:
        self.settled.append(("in_progress", None))


class RecordingBroker:
    """Publishes into a list, answers like JetStream; ``down`` makes every publish fail."""

    def __init__(self, *, down: bool = False) -> None:
        self.down = down
        self.published: list[tuple[str, bytes, dict[str, str], str | None]] = []
        self.timeouts: list[float | None] = []
        self._ids: set[str] = set()

    async def publish(
        self,
        message: bytes,
        subject: str,
        headers: dict[str, str] | None = None,
        reply_to: str = "",
        correlation_id: str | None = None,
        stream: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - as NatsBroker.publish
    ) -> PubAck | None:
        self.timeouts.append(timeout)
        if self.down:
            raise ConnectionError("nats: connection closed")
        headers = headers or {}
        duplicate = headers.get(MSG_ID_HEADER, "") in self._ids
        self._ids.add(headers.get(MSG_ID_HEADER, ""))
        if not duplicate:
            self.published.append((subject, message, headers, stream))
        return PubAck(stream=stream or "", seq=len(self.published), duplicate=duplicate)


def counted(code: PoisonCode) -> float:
    value = REGISTRY.get_sample_value(
        "reelhouse_dead_letters_total", {"consumer": CONSUMER, "code": code.value}
    )
    return value or 0.0


def test_bytes_that_are_not_json_are_undecodable() -> None:
    poison = poison_of(b"\xff\xfe{not json")
    assert poison.code is PoisonCode.UNDECODABLE
    assert poison.reason.startswith("the body is not JSON")


def test_json_of_the_wrong_shape_is_an_invalid_event_naming_the_fields() -> None:
    poison = poison_of(b'{"job_id": "job-1", "outputs": "nope"}')
    assert poison.code is PoisonCode.INVALID_EVENT
    assert "GenerationOutputReady" in poison.reason
    assert "provider_request_id: Field required" in poison.reason
    assert "outputs" in poison.reason


def test_a_subject_no_event_is_known_on_is_an_unknown_subject() -> None:
    poison = poison_of(b"{}", subject="gen.output.v9")
    assert poison.code is PoisonCode.UNKNOWN_SUBJECT
    assert "gen.output.v9" in poison.reason


def test_a_reason_is_one_bounded_line_of_ascii() -> None:
    reason = bounded_reason("première ligne\r\nseconde ligne\t" + "x" * 5000)
    assert len(reason) == MAX_REASON_CHARS
    assert reason.isascii()
    assert not set(reason) & set("\r\n\t")
    assert reason.startswith("premi\\xe8re ligne seconde ligne x")
    assert reason.endswith("...")


def test_the_job_id_is_read_only_from_json_that_names_one() -> None:
    assert job_id_in(b'{"job_id": "job-7", "x": 1}') == "job-7"
    assert job_id_in(b'{"job_id": 7}') is None
    assert job_id_in(b"[1, 2]") is None
    assert job_id_in(b"\xff") is None


def test_the_origin_comes_from_the_jetstream_delivery() -> None:
    origin = origin_of(FakeMessage(b"x", delivered=3).raw_message)
    assert (origin.subject, origin.stream, origin.stream_seq, origin.deliveries) == (
        SUBJECT,
        "REELHOUSE",
        42,
        3,
    )


def test_a_record_is_identified_by_its_stream_message_and_says_why() -> None:
    origin = origin_of(FakeMessage(b"x", delivered=2).raw_message)
    original = {"Nats-Msg-Id": "job-1:output", "ce-id": "job-1:output", "ce-type": "t"}
    headers = record_headers(
        origin,
        Poison.of(PoisonCode.INVALID_EVENT, "bad"),
        consumer=CONSUMER,
        body=b"x",
        original=original,
    )
    assert headers == {
        "ce-id": "job-1:output",
        "ce-type": "t",
        MSG_ID_HEADER: f"REELHOUSE:42:{CONSUMER}",
        REASON_HEADER: "bad",
        CODE_HEADER: "invalid_event",
        ORIGINAL_SUBJECT_HEADER: SUBJECT,
        CONSUMER_HEADER: CONSUMER,
        STREAM_SEQUENCE_HEADER: "42",
        DELIVERIES_HEADER: "2",
    }


def test_retries_while_the_record_cannot_be_written_back_off_to_a_bound() -> None:
    delays = [retry_delay(n) for n in range(1, 20)]
    assert delays == sorted(delays)
    assert delays[0] > 0
    assert max(delays) == RETRY_MAX_SECONDS


def test_faststream_declares_the_dead_letter_stream_ensure_stream_applies() -> None:
    settings = NatsSettings(deadletter_stream="DL", duplicate_window_seconds=42)
    declared = deadletter_jstream(settings)
    applied = deadletter_stream_config(settings)
    assert declared.name == applied.name == "DL"
    assert set(declared.subjects) == set(applied.subjects or []) == {"deadletter.>"}
    assert declared.config.max_age == applied.max_age == DEADLETTER_MAX_AGE_SECONDS
    assert declared.config.storage == applied.storage
    assert declared.config.duplicate_window == applied.duplicate_window == 42
    # apart from the events: no consumer of theirs ever sees a dead letter
    assert not set(applied.subjects or []) & set(jetstream(settings).subjects)


async def test_a_poison_message_is_recorded_unchanged_then_terminated() -> None:
    broker = RecordingBroker()
    msg = FakeMessage(b"\xffgarbage", headers={"ce-id": "evt-1"})
    before = counted(PoisonCode.UNDECODABLE)

    recorded = await DeadLetters(broker, stream="DL", consumer=CONSUMER).record(
        msg, poison_of(msg.body)
    )

    assert recorded
    [(subject, body, headers, stream)] = broker.published
    assert (subject, body, stream) == (f"deadletter.{SUBJECT}", b"\xffgarbage", "DL")
    assert headers[CODE_HEADER] == "undecodable"
    assert headers["ce-id"] == "evt-1"
    assert msg.settled == [("term", None)]
    assert counted(PoisonCode.UNDECODABLE) == before + 1
    # the acknowledgement is awaited as long as the record may take, not FastStream's 0.5 s
    assert broker.timeouts == [PUBLISH_TIMEOUT_SECONDS]


async def test_a_redelivered_poison_message_is_recorded_once() -> None:
    broker = RecordingBroker()
    dead_letters = DeadLetters(broker, stream="DL", consumer=CONSUMER)
    before = counted(PoisonCode.INVALID_EVENT)

    for delivered in (1, 2):
        msg = FakeMessage(b"{}", delivered=delivered)
        assert await dead_letters.record(msg, poison_of(msg.body))
        assert msg.settled == [("term", None)]

    assert len(broker.published) == 1
    assert counted(PoisonCode.INVALID_EVENT) == before + 1


@pytest.mark.parametrize("delivered", [1, 4])
async def test_a_record_that_cannot_be_written_is_retried_later_never_dropped(
    delivered: int,
) -> None:
    msg = FakeMessage(b"{}", delivered=delivered)

    recorded = await DeadLetters(RecordingBroker(down=True), stream="DL", consumer=CONSUMER).record(
        msg, poison_of(msg.body)
    )

    assert not recorded
    assert msg.settled == [("nack", retry_delay(delivered))]
