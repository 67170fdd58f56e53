"""The poll decision: provider state and time in, one action out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from reelhouse.dispatcher.decisions import (
    DeliverOutput,
    FailJob,
    KeepPolling,
    MarkCanceled,
    decide_poll,
    next_poll_delay,
)
from reelhouse.dispatcher.providers.base import ProviderState, ProviderStatus

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(minutes=15)


def state(
    status: ProviderStatus,
    raw: str,
    *,
    outputs: list[str] | None = None,
    error: str | None = None,
) -> ProviderState:
    return ProviderState(
        request_id="p1", status=status, raw_status=raw, outputs=outputs or [], error=error
    )


def test_changed_status_reports_progress_and_polls_again() -> None:
    seen = state("running", "processing")

    action = decide_poll(
        seen, now=NOW, deadline_at=DEADLINE, poll_interval=2.0, previous_status="starting"
    )

    assert action == KeepPolling(delay_seconds=2.0, progress=seen)


def test_unchanged_status_polls_again_quietly() -> None:
    action = decide_poll(
        state("running", "processing"),
        now=NOW,
        deadline_at=DEADLINE,
        poll_interval=2.0,
        previous_status="processing",
    )

    assert action == KeepPolling(delay_seconds=2.0, progress=None)


def test_first_look_reports_the_queued_status() -> None:
    seen = state("queued", "starting")

    action = decide_poll(seen, now=NOW, deadline_at=DEADLINE, poll_interval=2.0)

    assert isinstance(action, KeepPolling)
    assert action.progress == seen


def test_success_delivers_every_output_url() -> None:
    urls = ["https://cdn.test/0.mp4", "https://cdn.test/1.mp4"]

    action = decide_poll(
        state("succeeded", "succeeded", outputs=urls),
        now=NOW,
        deadline_at=DEADLINE,
        poll_interval=2.0,
    )

    assert action == DeliverOutput(outputs=urls)


def test_success_without_output_fails_the_job() -> None:
    action = decide_poll(
        state("succeeded", "succeeded"), now=NOW, deadline_at=DEADLINE, poll_interval=2.0
    )

    assert isinstance(action, FailJob)
    assert action.error.code == "provider_no_output"


def test_model_failure_fails_with_the_providers_message() -> None:
    action = decide_poll(
        state("failed", "failed", error="NSFW content detected"),
        now=NOW,
        deadline_at=DEADLINE,
        poll_interval=2.0,
    )

    assert isinstance(action, FailJob)
    assert action.error.stage == "provider"
    assert action.error.code == "provider_model_error"
    assert action.error.provider_detail == "NSFW content detected"
    assert not action.cancel_at_provider


def test_cancel_confirmed_for_an_owner_cancel_marks_the_job_canceled() -> None:
    action = decide_poll(
        state("canceled", "canceled"),
        now=NOW,
        deadline_at=DEADLINE,
        poll_interval=2.0,
        owner_canceled=True,
    )

    assert isinstance(action, MarkCanceled)


@pytest.mark.parametrize("raw", ["canceled", "aborted"])
def test_cancel_nobody_asked_for_fails_the_job(raw: str) -> None:
    action = decide_poll(state("canceled", raw), now=NOW, deadline_at=DEADLINE, poll_interval=2.0)

    assert isinstance(action, FailJob)
    assert action.error.code == "provider_canceled"


def test_past_the_deadline_the_job_times_out_and_the_provider_is_canceled() -> None:
    action = decide_poll(
        state("running", "processing"),
        now=DEADLINE + timedelta(seconds=1),
        deadline_at=DEADLINE,
        poll_interval=2.0,
        previous_status="processing",
    )

    assert isinstance(action, FailJob)
    assert action.error.code == "provider_timeout"
    assert action.cancel_at_provider


def test_result_that_arrives_at_the_deadline_is_still_delivered() -> None:
    action = decide_poll(
        state("succeeded", "succeeded", outputs=["https://cdn.test/0.mp4"]),
        now=DEADLINE + timedelta(seconds=1),
        deadline_at=DEADLINE,
        poll_interval=2.0,
    )

    assert isinstance(action, DeliverOutput)


def test_unreadable_provider_is_polled_again_before_the_deadline() -> None:
    action = decide_poll(None, now=NOW, deadline_at=DEADLINE, poll_interval=2.0)

    assert action == KeepPolling(delay_seconds=2.0, progress=None)


def test_unreadable_provider_at_the_deadline_times_out() -> None:
    action = decide_poll(None, now=DEADLINE, deadline_at=DEADLINE, poll_interval=2.0)

    assert isinstance(action, FailJob)
    assert action.error.code == "provider_timeout"
    assert "unreachable" in (action.error.provider_detail or "")


def test_last_poll_is_scheduled_right_at_the_deadline() -> None:
    almost = DEADLINE - timedelta(seconds=0.5)

    assert next_poll_delay(now=almost, deadline_at=DEADLINE, poll_interval=2.0) == 0.5
    assert next_poll_delay(now=NOW, deadline_at=DEADLINE, poll_interval=2.0) == 2.0
    assert next_poll_delay(now=DEADLINE, deadline_at=DEADLINE, poll_interval=2.0) == 0.0
