"""The poll decision: provider state, time and the job's situation in, one action out."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from reelhouse.common.events import OutputFile
from reelhouse.dispatcher.deadlines import (
    finish_deadline,
    next_poll_delay,
    provider_cancel_after,
    start_deadline,
)
from reelhouse.dispatcher.decisions import (
    DeliverOutput,
    FailJob,
    KeepPolling,
    MarkCanceled,
    PollContext,
    TryNextRoute,
    decide_poll,
)
from reelhouse.dispatcher.providers.base import ProviderState, ProviderStatus

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(minutes=15)
START_DEADLINE = NOW + timedelta(minutes=2)
CTX = PollContext(now=NOW, deadline_at=DEADLINE, poll_interval=2.0)


def state(
    status: ProviderStatus,
    raw: str,
    *,
    outputs: list[str] | None = None,
    error: str | None = None,
    queue_position: int | None = None,
    failure_code: str | None = None,
) -> ProviderState:
    return ProviderState(
        request_id="p1",
        status=status,
        raw_status=raw,
        outputs=[OutputFile(index=i, url=u) for i, u in enumerate(outputs or [])],
        error=error,
        queue_position=queue_position,
        failure_code=failure_code,
    )


def test_changed_status_reports_progress_and_polls_again() -> None:
    seen = state("running", "processing")

    action = decide_poll(seen, replace(CTX, previous_status="starting"))

    assert action == KeepPolling(delay_seconds=2.0, progress=seen)


def test_unchanged_status_polls_again_quietly() -> None:
    action = decide_poll(state("running", "processing"), replace(CTX, previous_status="processing"))

    assert action == KeepPolling(delay_seconds=2.0, progress=None)


def test_a_new_queue_position_is_progress() -> None:
    seen = state("queued", "IN_QUEUE", queue_position=2)

    action = decide_poll(seen, replace(CTX, previous_status="IN_QUEUE:3"))

    assert action == KeepPolling(delay_seconds=2.0, progress=seen)


def test_first_look_reports_the_queued_status() -> None:
    seen = state("queued", "starting")

    action = decide_poll(seen, CTX)

    assert isinstance(action, KeepPolling)
    assert action.progress == seen


def test_success_delivers_every_output() -> None:
    urls = ["https://cdn.test/0.mp4", "https://cdn.test/1.mp4"]

    action = decide_poll(state("succeeded", "succeeded", outputs=urls), CTX)

    assert isinstance(action, DeliverOutput)
    assert [o.url for o in action.outputs] == urls


def test_success_without_output_fails_the_job() -> None:
    action = decide_poll(state("succeeded", "succeeded"), CTX)

    assert isinstance(action, FailJob)
    assert action.error.code == "provider_no_output"


def test_model_failure_fails_with_the_providers_message() -> None:
    action = decide_poll(state("failed", "failed", error="NSFW content detected"), CTX)

    assert isinstance(action, FailJob)
    assert action.error.stage == "provider"
    assert action.error.code == "provider_model_error"
    assert action.error.provider_detail == "NSFW content detected"
    assert not action.cancel_at_provider


def test_aborted_by_the_providers_deadline_is_a_timeout() -> None:
    aborted = state("failed", "aborted", error="deadline", failure_code="provider_timeout")

    action = decide_poll(aborted, replace(CTX, now=DEADLINE))

    assert isinstance(action, FailJob)
    assert action.error.code == "provider_timeout"


def test_aborted_before_our_deadline_is_a_protocol_error() -> None:
    aborted = state("failed", "aborted", error="deadline", failure_code="provider_timeout")

    action = decide_poll(aborted, CTX)

    assert isinstance(action, FailJob)
    assert action.error.code == "provider_protocol_error"


def test_cancel_confirmed_for_an_owner_cancel_marks_the_job_canceled() -> None:
    action = decide_poll(state("canceled", "canceled"), replace(CTX, owner_canceled=True))

    assert isinstance(action, MarkCanceled)


def test_success_wins_over_a_cancel_that_came_too_late() -> None:
    done = state("succeeded", "succeeded", outputs=["https://cdn.test/0.mp4"])

    action = decide_poll(done, replace(CTX, owner_canceled=True))

    assert isinstance(action, DeliverOutput)


def test_cancel_nobody_asked_for_fails_the_job() -> None:
    action = decide_poll(state("canceled", "canceled"), CTX)

    assert isinstance(action, FailJob)
    assert action.error.code == "provider_canceled"


def test_cancel_by_the_provider_at_our_deadline_is_a_timeout() -> None:
    action = decide_poll(state("canceled", "canceled"), replace(CTX, now=DEADLINE))

    assert isinstance(action, FailJob)
    assert action.error.code == "provider_timeout"


def test_past_the_deadline_the_job_times_out_and_the_provider_is_canceled() -> None:
    action = decide_poll(
        state("running", "processing"),
        replace(CTX, now=DEADLINE + timedelta(seconds=1), previous_status="processing"),
    )

    assert isinstance(action, FailJob)
    assert action.error.code == "provider_timeout"
    assert action.cancel_at_provider


def test_result_that_arrives_at_the_deadline_is_still_delivered() -> None:
    action = decide_poll(
        state("succeeded", "succeeded", outputs=["https://cdn.test/0.mp4"]),
        replace(CTX, now=DEADLINE + timedelta(seconds=1)),
    )

    assert isinstance(action, DeliverOutput)


def test_unreadable_provider_is_polled_again_before_the_deadline() -> None:
    assert decide_poll(None, CTX) == KeepPolling(delay_seconds=2.0, progress=None)


def test_unreadable_provider_at_the_deadline_times_out() -> None:
    action = decide_poll(None, replace(CTX, now=DEADLINE))

    assert isinstance(action, FailJob)
    assert action.error.code == "provider_timeout"
    assert "unreachable" in (action.error.provider_detail or "")


# ---- the start deadline and the next route, as a table
#   started?  past start deadline?  next route?  →  action
@pytest.mark.parametrize(
    ("seen", "started_before", "now", "has_next", "expected"),
    [
        (state("queued", "starting"), False, START_DEADLINE, True, TryNextRoute),
        (state("queued", "starting"), False, START_DEADLINE, False, FailJob),
        (None, False, START_DEADLINE, True, TryNextRoute),
        (state("queued", "starting"), True, START_DEADLINE, True, KeepPolling),
        (state("running", "processing"), False, START_DEADLINE, True, KeepPolling),
        (state("queued", "starting"), False, NOW, True, KeepPolling),
    ],
)
def test_start_deadline_moves_on_or_fails(
    seen: ProviderState | None,
    started_before: bool,
    now: datetime,
    has_next: bool,
    expected: type,
) -> None:
    ctx = replace(
        CTX,
        now=now,
        start_deadline_at=START_DEADLINE,
        started=started_before,
        has_next_route=has_next,
        previous_status="starting",
    )

    action = decide_poll(seen, ctx)

    assert isinstance(action, expected)
    if isinstance(action, TryNextRoute | FailJob):
        assert action.error.code == "provider_timeout"
    if isinstance(action, FailJob):
        assert action.cancel_at_provider


def test_poll_before_the_start_deadline_lands_on_it() -> None:
    ctx = replace(
        CTX, now=START_DEADLINE - timedelta(seconds=0.5), start_deadline_at=START_DEADLINE
    )

    action = decide_poll(state("queued", "starting"), replace(ctx, previous_status="starting"))

    assert action == KeepPolling(delay_seconds=0.5, progress=None)


def test_last_poll_is_scheduled_right_at_the_deadline() -> None:
    almost = DEADLINE - timedelta(seconds=0.5)

    assert next_poll_delay(now=almost, deadline_at=DEADLINE, poll_interval=2.0) == 0.5
    assert next_poll_delay(now=NOW, deadline_at=DEADLINE, poll_interval=2.0) == 2.0
    assert next_poll_delay(now=DEADLINE, deadline_at=DEADLINE, poll_interval=2.0) == 0.0


def test_start_deadline_never_outlives_the_finish_deadline() -> None:
    finish = finish_deadline(NOW, 60)

    assert start_deadline(NOW, 30, finish) == NOW + timedelta(seconds=30)
    assert start_deadline(NOW, 600, finish) == finish
    assert start_deadline(NOW, None, finish) is None


def test_providers_own_deadline_trails_ours() -> None:
    assert provider_cancel_after(now=NOW, deadline_at=NOW + timedelta(seconds=100)) > 100
