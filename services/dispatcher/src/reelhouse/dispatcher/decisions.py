"""What to do after looking at a prediction: a pure function of what we saw and when.

The poll message is redelivered (``nack(delay=...)``) until this says otherwise, so
the broker is the scheduler and the deadline in the message bounds the polling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reelhouse.common.errors import lookup
from reelhouse.common.events import JobError
from reelhouse.dispatcher.providers.base import ProviderState


@dataclass(frozen=True, slots=True)
class KeepPolling:
    """Not final yet: look again after ``delay_seconds``; report ``progress`` when set."""

    delay_seconds: float
    progress: ProviderState | None = None


@dataclass(frozen=True, slots=True)
class DeliverOutput:
    """Succeeded: hand the provider's URLs to the downloader."""

    outputs: list[str]


@dataclass(frozen=True, slots=True)
class FailJob:
    """Final failure; ``cancel_at_provider`` when the provider may still be working."""

    error: JobError
    cancel_at_provider: bool = False


@dataclass(frozen=True, slots=True)
class MarkCanceled:
    """The owner asked to cancel and the provider confirmed it."""

    reason: str


PollAction = KeepPolling | DeliverOutput | FailJob | MarkCanceled


def provider_error(code: str, *, detail: str | None = None, message: str | None = None) -> JobError:
    """A provider-stage ``JobError`` with the catalogue's message and retryability."""
    entry = lookup(code)
    return JobError(
        stage="provider",
        code=code,
        message=message or entry.message,
        retryable=entry.retryable,
        provider_detail=detail,
    )


def next_poll_delay(*, now: datetime, deadline_at: datetime, poll_interval: float) -> float:
    """The poll interval, shortened so the last look happens right at the deadline."""
    remaining = (deadline_at - now).total_seconds()
    return max(0.0, min(poll_interval, remaining))


def decide_poll(
    state: ProviderState | None,
    *,
    now: datetime,
    deadline_at: datetime,
    poll_interval: float,
    previous_status: str | None = None,
    owner_canceled: bool = False,
) -> PollAction:
    """Decide from the provider's state (``None``: it could not be read this time)."""
    if state is not None and state.final:
        return _final(state, owner_canceled=owner_canceled)
    if now >= deadline_at:
        seen = f"last status {state.raw_status!r}" if state else "provider unreachable"
        return FailJob(
            provider_error("provider_timeout", detail=f"{seen} at the deadline {deadline_at}"),
            cancel_at_provider=True,
        )
    changed = state is not None and state.raw_status != previous_status
    return KeepPolling(
        delay_seconds=next_poll_delay(
            now=now, deadline_at=deadline_at, poll_interval=poll_interval
        ),
        progress=state if changed else None,
    )


def _final(state: ProviderState, *, owner_canceled: bool) -> PollAction:
    if state.status == "succeeded":
        if state.outputs:
            return DeliverOutput(outputs=list(state.outputs))
        return FailJob(provider_error("provider_no_output", detail=state.error))
    if state.status == "failed":
        return FailJob(provider_error("provider_model_error", detail=state.error))
    if owner_canceled:
        return MarkCanceled(reason="canceled by owner")
    return FailJob(provider_error("provider_canceled", detail=state.error or state.raw_status))
