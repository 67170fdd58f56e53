"""Webhook pieces without I/O: event selection, signatures, retry timing, secret sealing."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from reelhouse.common.events import (
    GenerationFailed,
    GenerationProgressed,
    GenerationStored,
    JobError,
)
from reelhouse.common.jobstate import JobStatus
from reelhouse.gateway.webhooks.events import (
    DEFAULT_EVENTS,
    InvalidWebhookEventsError,
    normalize_events,
    webhook_types,
)
from reelhouse.gateway.webhooks.retry import next_attempt_at, retry_delay, stops_retries
from reelhouse.gateway.webhooks.secret_store import SecretBox, SecretUnreadableError
from reelhouse.gateway.webhooks.signature import new_secret, signature_header

JOB = "gen_" + "0" * 32
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def failed() -> GenerationFailed:
    return GenerationFailed(
        event_id="e1",
        job_id=JOB,
        error=JobError(stage="provider", code="provider_model_error", message="no"),
    )


def test_default_events_are_the_final_ones() -> None:
    assert normalize_events(None) == list(DEFAULT_EVENTS) == ["succeeded", "failed", "canceled"]


def test_events_are_deduplicated_in_catalogue_order() -> None:
    assert normalize_events(["failed", "status", "failed"]) == ["status", "failed"]


def test_an_unknown_event_name_is_refused() -> None:
    with pytest.raises(InvalidWebhookEventsError) as caught:
        normalize_events(["succeeded", "done"])
    assert caught.value.unknown == ("done",)


def test_a_final_transition_fires_status_and_its_own_type() -> None:
    types = webhook_types(["status", "failed"], event=failed(), moved_to=JobStatus.FAILED)

    assert types == ["generation.status", "generation.failed"]


def test_a_late_event_that_moves_nothing_fires_nothing() -> None:
    assert webhook_types(["status", "failed"], event=failed(), moved_to=None) == []


def test_progress_fires_for_every_progress_event_and_status_only_when_it_moves() -> None:
    progress = GenerationProgressed(
        event_id="p", job_id=JOB, provider_status="processing", running=True, percent=40.0
    )

    assert webhook_types(["progress"], event=progress, moved_to=None) == ["generation.progress"]
    assert webhook_types(["status", "progress"], event=progress, moved_to=JobStatus.RUNNING) == [
        "generation.status",
        "generation.progress",
    ]
    stored = GenerationStored(event_id="s", job_id=JOB, assets=[])
    assert webhook_types(DEFAULT_EVENTS, event=stored, moved_to=JobStatus.SUCCEEDED) == [
        "generation.succeeded"
    ]


def test_signatures_verify_with_the_reference_implementation_for_every_secret() -> None:
    old, new = new_secret(), new_secret()
    timestamp = int(datetime.now(UTC).timestamp())
    body = b'{"type":"generation.failed","data":{"id":"x"}}'
    header = signature_header([new, old], msg_id="msg_1", timestamp=timestamp, body=body)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": header,
    }

    assert header.count("v1,") == 2
    for secret in (old, new):
        assert Webhook(secret).verify(body, headers)["type"] == "generation.failed"


def test_retry_delay_doubles_within_jitter_and_stops_at_the_cap() -> None:
    rand = random.Random(7)
    for attempts, ceiling in [(1, 5.0), (2, 10.0), (3, 20.0), (20, 3600.0)]:
        delay = retry_delay(attempts, base=5.0, cap=3600.0, rand=rand)
        assert ceiling / 2 <= delay <= ceiling


def test_no_retry_is_planned_past_the_deadline() -> None:
    give_up = NOW + timedelta(seconds=1)

    assert next_attempt_at(attempts=5, now=NOW, give_up_at=give_up, base=5, cap=60) is None
    later = next_attempt_at(attempts=1, now=NOW, give_up_at=NOW + timedelta(days=1), base=5, cap=60)
    assert later is not None
    assert NOW < later <= NOW + timedelta(seconds=5)


def test_only_410_stops_retries() -> None:
    assert stops_retries(410)
    assert not any(stops_retries(code) for code in (None, 400, 404, 429, 500, 503))


def test_a_sealed_secret_opens_under_its_key_and_never_shows_in_clear() -> None:
    keys = {"k1": b"signing-one", "k2": b"signing-two"}
    first = SecretBox.build(secrets_key=None, signing_keys=keys, active_signing_key="k1")
    secret = new_secret()
    sealed = first.seal(secret)

    assert secret not in sealed
    assert sealed.startswith("s.k1:")
    rotated = SecretBox.build(secrets_key=None, signing_keys=keys, active_signing_key="k2")
    assert rotated.open(sealed) == secret  # the old signing key is still configured
    dedicated = SecretBox.build(secrets_key=b"x" * 32, signing_keys=keys, active_signing_key="k1")
    assert dedicated.seal(secret).startswith("w:")
    gone = SecretBox.build(secrets_key=None, signing_keys={"k3": b"x"}, active_signing_key="k3")
    with pytest.raises(SecretUnreadableError):
        gone.open(sealed)
