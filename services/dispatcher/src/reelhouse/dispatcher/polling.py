"""``dispatch.poll.v1``: look at the provider once and act on what it says.

The scheduled poll (one message per attempt, redelivered with a delay) enforces
the deadlines and moves to the next route. A webhook-triggered poll is a one-off
look with the same logic and the same event ids: it may only report progress or
the final state, so duplicates and late arrivals change nothing.
"""

from __future__ import annotations

import structlog

from reelhouse.common.delivery import error_from
from reelhouse.common.errors import PermanentError, TransientError
from reelhouse.common.events import PollPrediction
from reelhouse.dispatcher.decisions import (
    DeliverOutput,
    FailJob,
    KeepPolling,
    MarkCanceled,
    PollContext,
    TryNextRoute,
    decide_poll,
)
from reelhouse.dispatcher.outcomes import JobEvents
from reelhouse.dispatcher.providers.base import ProviderState
from reelhouse.dispatcher.providers.registry import ProviderRegistry
from reelhouse.dispatcher.records import DispatchRecord, DispatchRecords
from reelhouse.dispatcher.submission import Submitter, cancel_quietly

log = structlog.get_logger(__name__)


class Poller:
    def __init__(
        self,
        *,
        events: JobEvents,
        records: DispatchRecords,
        registry: ProviderRegistry,
        submitter: Submitter,
        poll_interval_seconds: float,
        poll_interval_with_webhooks_seconds: float,
    ) -> None:
        self.events = events
        self.records = records
        self.registry = registry
        self.submitter = submitter
        self.poll_interval_seconds = poll_interval_seconds
        self.poll_interval_with_webhooks_seconds = poll_interval_with_webhooks_seconds

    async def poll(self, command: PollPrediction) -> float | None:
        """Look once; return the delay before the next look, None when this message is done."""
        record = await self.records.get(command.job_id) or _record_from(command)
        if record.outcome is not None:
            log.info("poll.already_decided", outcome=record.outcome)
            return None
        if command.attempt < record.attempt:
            if (
                command.trigger == "schedule"
            ):  # the advance that this poll started may be unfinished
                await self.submitter.catch_up(record)
            return None
        if record.provider_request_id != command.provider_request_id:
            log.info("poll.stale", current=record.provider_request_id)
            return None
        webhook = command.trigger == "webhook"
        adapter = self.registry.get(command.provider)
        try:
            state: ProviderState | None = await adapter.get(
                command.provider_model, command.provider_request_id
            )
        except TransientError as exc:
            log.warning("poll.provider_unavailable", code=exc.code, detail=exc.detail)
            state = None
        except PermanentError as exc:
            if exc.code == "provider_protocol_error":  # it may still be running: stop it
                await cancel_quietly(adapter, command.provider_model, command.provider_request_id)
            await self.events.fail(command.job_id, error_from(exc, "provider"))
            return None
        if state is not None and state.started and not record.started:
            await self._mark_started(record)
        action = decide_poll(state, self._context(record))
        usage = state.usage if state is not None else None
        match action:
            case KeepPolling(delay_seconds=delay, progress=progress):
                if progress is not None:
                    await self.events.progressed(command.job_id, record.attempt, progress)
                return None if webhook else delay
            case DeliverOutput(outputs=outputs):
                await self.events.output(
                    command.job_id,
                    provider=command.provider,
                    request_id=command.provider_request_id,
                    outputs=outputs,
                    usage=usage,
                )
            case MarkCanceled(reason=reason):
                await self.events.canceled(command.job_id, reason, usage=usage)
            case FailJob(error=error, cancel_at_provider=cancel_first):
                if cancel_first:
                    if webhook:  # deadlines are the scheduled poll's business
                        return None
                    answer = await cancel_quietly(
                        adapter, command.provider_model, command.provider_request_id
                    )
                    if answer == "already_final":  # it finished first: read it now
                        return 0.0
                await self.events.fail(command.job_id, error, usage=usage)
            case TryNextRoute(error=error):
                if webhook:
                    return None
                await cancel_quietly(adapter, command.provider_model, command.provider_request_id)
                moved = await self.submitter.advance(record, error, usage=usage)
                if moved is not None:
                    await self.submitter.ensure_attempt(moved)
        return None

    def interval(self, record: DispatchRecord) -> float:
        if record.webhooks:
            return self.poll_interval_with_webhooks_seconds
        return self.poll_interval_seconds

    def _context(self, record: DispatchRecord) -> PollContext:
        assert record.deadline_at is not None
        routes = record.request.all_routes() if record.request else []
        return PollContext(
            now=self.events.clock(),
            deadline_at=record.deadline_at,
            poll_interval=self.interval(record),
            start_deadline_at=record.start_deadline_at,
            started=record.started,
            previous_status=record.last_status,
            owner_canceled=record.canceled,
            has_next_route=record.attempt + 1 < len(routes),
        )

    async def _mark_started(self, record: DispatchRecord) -> None:
        attempt = record.attempt
        await self.records.update(
            record.job_id,
            lambda r: r.model_copy(update={"started": True}) if r.attempt == attempt else r,
        )


def _record_from(command: PollPrediction) -> DispatchRecord:
    """A stand-in when the record is gone (expired bucket): what the message itself says."""
    log.warning("poll.record_missing")
    return DispatchRecord(
        job_id=command.job_id,
        attempt=command.attempt,
        provider=command.provider,
        provider_model=command.provider_model,
        provider_request_id=command.provider_request_id,
        deadline_at=command.deadline_at,
        scheduled=True,
    )
