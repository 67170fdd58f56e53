"""Publishing what happened to a job, with deterministic ids and one terminal outcome.

A terminal event (output, failure, cancellation) is published only by whoever
claims the job's ``outcome`` in the dispatch record first (compare-and-set), so a
cancel racing a completion can never produce both. The claimer publishes again on
a redelivery (same event id, dropped by the broker), which makes a crash between
claim and publish harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog
from faststream.nats import NatsBroker

from reelhouse.common.broker import publish_event
from reelhouse.common.events import (
    Event,
    GenerationAttemptFailed,
    GenerationCanceled,
    GenerationFailed,
    GenerationOutputReady,
    GenerationProgressed,
    JobError,
    OutputFile,
    ProviderUsage,
    utcnow,
)
from reelhouse.dispatcher.providers.base import ProviderState
from reelhouse.dispatcher.records import DispatchRecord, DispatchRecords, Outcome

log = structlog.get_logger(__name__)

SOURCE = "dispatcher"
LOGS_TAIL_CHARS = 4000


def attempt_suffix(attempt: int) -> str:
    """Event-id suffix of an attempt: nothing for the first route (the ids it always had)."""
    return "" if attempt == 0 else f":{attempt}"


class JobEvents:
    def __init__(
        self,
        broker: NatsBroker,
        records: DispatchRecords,
        *,
        stream: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.broker = broker
        self.records = records
        self._stream = stream
        self.clock = clock

    async def publish(self, event: Event) -> None:
        await publish_event(self.broker, event, source=SOURCE, stream=self._stream)

    async def claim(self, job_id: str, outcome: Outcome) -> bool:
        """Make ``outcome`` the job's outcome unless another one was claimed first."""

        def change(record: DispatchRecord) -> DispatchRecord:
            if record.outcome is not None:
                return record
            return record.model_copy(update={"outcome": outcome})

        record = await self.records.update(job_id, change)
        if record.outcome != outcome:
            log.info("dispatch.outcome_taken", wanted=outcome, outcome=record.outcome)
            return False
        return True

    async def fail(
        self, job_id: str, error: JobError, *, usage: ProviderUsage | None = None
    ) -> None:
        if not await self.claim(job_id, "failed"):
            return
        log.warning("dispatch.failed", code=error.code, detail=error.provider_detail)
        await self.publish(
            GenerationFailed(event_id=f"{job_id}:failed", job_id=job_id, error=error, usage=usage)
        )

    async def output(
        self,
        job_id: str,
        *,
        provider: str,
        request_id: str,
        outputs: list[OutputFile],
        usage: ProviderUsage | None = None,
    ) -> None:
        if not await self.claim(job_id, "output"):
            return
        await self.publish(
            GenerationOutputReady(
                event_id=f"{job_id}:output",
                job_id=job_id,
                provider=provider,
                provider_request_id=request_id,
                outputs=outputs,
                usage=usage,
            )
        )
        log.info("poll.output_ready", outputs=len(outputs))

    async def canceled(
        self,
        job_id: str,
        reason: str = "canceled by owner",
        *,
        usage: ProviderUsage | None = None,
    ) -> None:
        if not await self.claim(job_id, "canceled"):
            return
        await self.publish(
            GenerationCanceled(
                event_id=f"{job_id}:canceled", job_id=job_id, reason=reason, usage=usage
            )
        )
        log.info("dispatch.canceled")

    async def progressed(self, job_id: str, attempt: int, state: ProviderState) -> None:
        key = state.progress_key
        await self.publish(
            GenerationProgressed(
                event_id=f"{job_id}:progress{attempt_suffix(attempt)}:{key}",
                job_id=job_id,
                provider_status=state.raw_status,
                running=state.status == "running",
                queue_position=state.queue_position,
                logs=state.logs[-LOGS_TAIL_CHARS:] if state.logs else None,
            )
        )
        await self.records.update(
            job_id,
            lambda r: r if r.attempt != attempt else r.model_copy(update={"last_status": key}),
        )
        log.info("poll.progressed", provider_status=key)

    async def attempts_failed(self, record: DispatchRecord) -> None:
        """Announce every failed attempt of the record (idempotent ids)."""
        if record.request is None:
            return
        routes = record.request.all_routes()
        for failed in record.failed_attempts:
            following = routes[min(failed.attempt + 1, len(routes) - 1)]
            await self.publish(
                GenerationAttemptFailed(
                    event_id=f"{record.job_id}:attempt:{failed.attempt}:failed",
                    job_id=record.job_id,
                    attempt=failed.attempt,
                    provider=failed.provider,
                    provider_request_id=failed.provider_request_id,
                    error=failed.error,
                    next_provider=following.provider,
                    usage=failed.usage,
                )
            )
