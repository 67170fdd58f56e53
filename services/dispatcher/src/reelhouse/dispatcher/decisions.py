"""What to do after looking at a prediction: a pure function of what we saw and when.

The poll message is redelivered (``nack(delay=...)``) until this says otherwise, so
the broker is the scheduler and the deadlines bound the polling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from reelhouse.common.errors import lookup
from reelhouse.common.events import JobError, OutputFile
from reelhouse.dispatcher.deadlines import next_poll_delay
from reelhouse.dispatcher.providers.base import ProviderState


@dataclass(frozen=True, slots=True)
class KeepPolling:
    """Not final yet: look again after ``delay_seconds``; report ``progress`` when set."""

    delay_seconds: float
    progress: ProviderState | None = None


@dataclass(frozen=True, slots=True)
class DeliverOutput:
    """Succeeded: hand the provider's URLs to the downloader."""

    outputs: list[OutputFile]


@dataclass(frozen=True, slots=True)
class FailJob:
    """Final failure; ``cancel_at_provider`` when the provider may still be working."""

    error: JobError
    cancel_at_provider: bool = False


@dataclass(frozen=True, slots=True)
class MarkCanceled:
    """The owner asked to cancel and the provider confirmed it."""

    reason: str


@dataclass(frozen=True, slots=True)
class TryNextRoute:
    """This attempt did not start in time and another route exists: cancel it, move on."""

    error: JobError


PollAction = KeepPolling | DeliverOutput | FailJob | MarkCanceled | TryNextRoute


@dataclass(frozen=True, slots=True)
class PollContext:
    """Everything besides the provider's state that the decision depends on."""

    now: datetime
    deadline_at: datetime
    poll_interval: float
    start_deadline_at: datetime | None = None
    # the provider reported the attempt started on an earlier look
    started: bool = False
    previous_status: str | None = None
    owner_canceled: bool = False
    has_next_route: bool = False


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


def decide_poll(state: ProviderState | None, ctx: PollContext) -> PollAction:
    """Decide from the provider's state (``None``: it could not be read this time)."""
    if state is not None and state.final:
        return _final(state, ctx)
    seen = f"last status {state.raw_status!r}" if state else "provider unreachable"
    if ctx.now >= ctx.deadline_at:
        return FailJob(
            provider_error("provider_timeout", detail=f"{seen} at the deadline {ctx.deadline_at}"),
            cancel_at_provider=True,
        )
    started = ctx.started or (state is not None and state.started)
    if not started and ctx.start_deadline_at is not None and ctx.now >= ctx.start_deadline_at:
        error = provider_error(
            "provider_timeout",
            message="The provider did not start the generation in time.",
            detail=f"{seen} at the start deadline {ctx.start_deadline_at}",
        )
        if ctx.has_next_route:
            return TryNextRoute(error)
        return FailJob(error, cancel_at_provider=True)
    changed = state is not None and state.progress_key != ctx.previous_status
    return KeepPolling(
        delay_seconds=next_poll_delay(
            now=ctx.now,
            deadline_at=ctx.deadline_at,
            poll_interval=ctx.poll_interval,
            start_deadline_at=None if started else ctx.start_deadline_at,
        ),
        progress=state if changed else None,
    )


def _final(state: ProviderState, ctx: PollContext) -> PollAction:
    if state.status == "succeeded":
        if state.outputs:
            return DeliverOutput(outputs=list(state.outputs))
        return FailJob(provider_error("provider_no_output", detail=state.error))
    if state.status == "failed":
        code = state.failure_code or "provider_model_error"
        if code == "provider_timeout" and ctx.now < ctx.deadline_at:
            # "aborted" means the deadline we sent passed; before it, the word makes no sense
            code = "provider_protocol_error"
        return FailJob(provider_error(code, detail=state.error))
    if ctx.owner_canceled:
        return MarkCanceled(reason="canceled by owner")
    if ctx.now >= ctx.deadline_at:  # the provider's own deadline (Cancel-After) ended it
        return FailJob(provider_error("provider_timeout", detail=state.error or state.raw_status))
    return FailJob(provider_error("provider_canceled", detail=state.error or state.raw_status))
