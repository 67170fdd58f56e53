"""The dispatcher's use cases: submit, cancel and poll one job, publishing what happened.

Event ids are deterministic so that a redelivery publishing the "same" event
again is dropped by the broker (``Nats-Msg-Id`` de-duplication).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from faststream.nats import NatsBroker

from reelhouse.common.broker import publish_event
from reelhouse.common.delivery import error_from
from reelhouse.common.errors import PermanentError, TransientError
from reelhouse.common.events import (
    CancelRequested,
    Event,
    GenerationCanceled,
    GenerationFailed,
    GenerationOutputReady,
    GenerationProgressed,
    GenerationRequested,
    GenerationSubmitted,
    JobError,
    OutputFile,
    PollPrediction,
    utcnow,
)
from reelhouse.dispatcher.decisions import (
    DeliverOutput,
    FailJob,
    KeepPolling,
    MarkCanceled,
    decide_poll,
)
from reelhouse.dispatcher.providers.base import ProviderAdapter, ProviderState
from reelhouse.dispatcher.providers.registry import ProviderRegistry
from reelhouse.dispatcher.records import DispatchRecords

log = structlog.get_logger(__name__)

SOURCE = "dispatcher"
LOGS_TAIL_CHARS = 4000


class DispatchService:
    def __init__(
        self,
        *,
        broker: NatsBroker,
        registry: ProviderRegistry,
        records: DispatchRecords,
        poll_interval_seconds: float,
        stream: str,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.broker = broker
        self.registry = registry
        self.records = records
        self.poll_interval_seconds = poll_interval_seconds
        self._stream = stream
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    async def publish(self, event: Event) -> None:
        await publish_event(self.broker, event, source=SOURCE, stream=self._stream)

    async def fail(self, job_id: str, error: JobError) -> None:
        log.warning("dispatch.failed", code=error.code, detail=error.provider_detail)
        await self.publish(
            GenerationFailed(event_id=f"{job_id}:failed", job_id=job_id, error=error)
        )

    # ---- gen.requested.v1

    async def submit(self, job: GenerationRequested) -> None:
        """Submit once per job, then announce it and schedule the first poll."""
        record = await self.records.get(job.job_id)
        if record is not None and record.canceled:
            log.info("dispatch.skipped_canceled")
            return
        if record is not None and record.scheduled:
            log.info("dispatch.already_submitted", provider_request_id=record.provider_request_id)
            return
        if record is not None and record.provider_request_id is not None:
            # submitted before, but not announced: announce again (same event ids)
            provider = record.provider or job.provider
            request_id = record.provider_request_id
            submitted_at = record.submitted_at or self._clock()
        else:
            provider = job.provider
            adapter = self.registry.get(provider)
            request_id = await adapter.submit(job)
            submitted_at = self._clock()
            submitted = {
                "provider": provider,
                "provider_request_id": request_id,
                "submitted_at": submitted_at,
            }
            record = await self.records.update(job.job_id, lambda r: r.model_copy(update=submitted))
            if record.canceled:  # the owner canceled while we were submitting
                await _cancel_quietly(adapter, request_id)
                return
        await self._announce(
            job, provider=provider, request_id=request_id, submitted_at=submitted_at
        )

    async def _announce(
        self,
        job: GenerationRequested,
        *,
        provider: str,
        request_id: str,
        submitted_at: datetime,
    ) -> None:
        await self.publish(
            GenerationSubmitted(
                event_id=f"{job.job_id}:submitted",
                job_id=job.job_id,
                provider=provider,
                provider_request_id=request_id,
            )
        )
        await self.publish(
            PollPrediction(
                event_id=f"{job.job_id}:poll",
                job_id=job.job_id,
                provider=provider,
                provider_model=job.provider_model,
                provider_request_id=request_id,
                deadline_at=submitted_at + timedelta(seconds=job.deadline_seconds),
            )
        )
        await self.records.update(job.job_id, lambda r: r.model_copy(update={"scheduled": True}))
        log.info("dispatch.submitted", provider_request_id=request_id)

    # ---- gen.cancel.v1 (first cut: cancel at the provider and report it)

    async def cancel(self, command: CancelRequested) -> None:
        record = await self.records.update(
            command.job_id, lambda r: r.model_copy(update={"canceled": True})
        )
        if record.provider is not None and record.provider_request_id is not None:
            try:
                adapter = self.registry.get(record.provider)
            except PermanentError:
                log.warning("dispatch.cancel_unknown_provider", provider=record.provider)
            else:
                try:
                    await adapter.cancel(record.provider_request_id)
                except PermanentError as exc:  # already final, or gone: nothing left to stop
                    log.info("dispatch.cancel_refused", code=exc.code, detail=exc.detail)
        await self.publish(
            GenerationCanceled(event_id=f"{command.job_id}:canceled", job_id=command.job_id)
        )

    # ---- dispatch.poll.v1

    async def poll(self, command: PollPrediction) -> float | None:
        """Look at the provider once; return the delay before the next look, None when done."""
        try:
            adapter = self.registry.get(command.provider)
            state = await adapter.get(command.provider_request_id)
        except TransientError as exc:
            log.warning("poll.provider_unavailable", code=exc.code, detail=exc.detail)
            state = None
        except PermanentError as exc:
            await self.fail(command.job_id, error_from(exc, "provider"))
            return None
        record = await self.records.get(command.job_id)
        action = decide_poll(
            state,
            now=self._clock(),
            deadline_at=command.deadline_at,
            poll_interval=self.poll_interval_seconds,
            previous_status=record.last_status if record else None,
            owner_canceled=record.canceled if record else False,
        )
        match action:
            case KeepPolling(delay_seconds=delay, progress=progress):
                if progress is not None:
                    await self._progressed(command.job_id, progress)
                return delay
            case DeliverOutput(outputs=urls):
                await self.publish(
                    GenerationOutputReady(
                        event_id=f"{command.job_id}:output",
                        job_id=command.job_id,
                        provider=command.provider,
                        provider_request_id=command.provider_request_id,
                        outputs=[OutputFile(index=i, url=url) for i, url in enumerate(urls)],
                    )
                )
                log.info("poll.output_ready", outputs=len(urls))
            case FailJob(error=error, cancel_at_provider=cancel_first):
                if cancel_first:
                    await _cancel_quietly(
                        self.registry.get(command.provider), command.provider_request_id
                    )
                await self.fail(command.job_id, error)
            case MarkCanceled(reason=reason):
                await self.publish(
                    GenerationCanceled(
                        event_id=f"{command.job_id}:canceled", job_id=command.job_id, reason=reason
                    )
                )
        return None

    async def _progressed(self, job_id: str, state: ProviderState) -> None:
        await self.publish(
            GenerationProgressed(
                event_id=f"{job_id}:progress:{state.raw_status}",
                job_id=job_id,
                provider_status=state.raw_status,
                running=state.status == "running",
                logs=state.logs[-LOGS_TAIL_CHARS:] if state.logs else None,
            )
        )
        await self.records.update(
            job_id, lambda r: r.model_copy(update={"last_status": state.raw_status})
        )
        log.info("poll.progressed", provider_status=state.raw_status)


async def _cancel_quietly(adapter: ProviderAdapter, request_id: str) -> None:
    """Best effort: the job ends either way; a failed cancel is only logged."""
    try:
        await adapter.cancel(request_id)
    except Exception as exc:
        log.warning("provider.cancel_failed", provider_request_id=request_id, error=repr(exc))
