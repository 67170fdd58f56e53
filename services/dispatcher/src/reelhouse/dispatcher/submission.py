"""Submitting a job's current attempt once, and moving on to the next route.

Every step is idempotent through the dispatch record: a redelivery finds the
request id it already got (no second prediction), re-announces with the same event
ids, and an advance to the next route is a compare-and-set on the attempt index.
"""

from __future__ import annotations

from urllib.parse import quote

import structlog

from reelhouse.common.delivery import error_from
from reelhouse.common.errors import TransientError
from reelhouse.common.events import (
    GenerationRequested,
    GenerationSubmitted,
    JobError,
    PollPrediction,
    ProviderUsage,
)
from reelhouse.common.tracing import current_trace_headers
from reelhouse.dispatcher.deadlines import finish_deadline, provider_cancel_after, start_deadline
from reelhouse.dispatcher.decisions import provider_error
from reelhouse.dispatcher.outcomes import JobEvents, attempt_suffix
from reelhouse.dispatcher.providers.base import ProviderAdapter, SubmitOptions
from reelhouse.dispatcher.providers.registry import ProviderRegistry
from reelhouse.dispatcher.providers.submit_retry import submit_with_retries
from reelhouse.dispatcher.records import DispatchRecord, DispatchRecords, FailedAttempt
from reelhouse.dispatcher.settings import SubmitRetrySettings
from reelhouse.dispatcher.upload_links import UploadLinks

log = structlog.get_logger(__name__)


def webhook_url(base_url: str | None, provider: str, job_id: str) -> str | None:
    """Where a provider posts this job's webhooks; None when no public base URL is set."""
    if not base_url:
        return None
    return f"{base_url.rstrip('/')}/webhooks/{quote(provider, safe='')}/{quote(job_id, safe='')}"


class Submitter:
    def __init__(
        self,
        *,
        events: JobEvents,
        records: DispatchRecords,
        registry: ProviderRegistry,
        retry: SubmitRetrySettings,
        webhook_base_url: str | None,
        default_start_deadline_seconds: float | None,
        upload_links: UploadLinks | None = None,
    ) -> None:
        self.events = events
        self.records = records
        self.registry = registry
        self.retry = retry
        self.webhook_base_url = webhook_base_url
        self.default_start_deadline_seconds = default_start_deadline_seconds
        self.upload_links = upload_links or UploadLinks(
            signer=None, public_media_base_url="", ttl_seconds=0
        )

    async def submit(self, job: GenerationRequested) -> None:
        """``gen.requested.v1``: remember the job (and its trace), then make sure its attempt
        runs."""
        first = {"request": job, "trace_context": current_trace_headers()}
        record = await self.records.update(
            job.job_id,
            lambda r: r if r.request is not None else r.model_copy(update=first),
        )
        await self.ensure_attempt(record)

    async def catch_up(self, record: DispatchRecord) -> None:
        """Finish an advance a crash interrupted: announce failures, run the current attempt."""
        await self.events.attempts_failed(record)
        await self.ensure_attempt(record)

    async def advance(
        self, record: DispatchRecord, error: JobError, *, usage: ProviderUsage | None = None
    ) -> DispatchRecord | None:
        """Move from ``record.attempt`` to the next route; None if someone else already did."""
        attempt = record.attempt
        route = record.request.all_routes()[attempt] if record.request else None
        failure = FailedAttempt(
            attempt=attempt,
            provider=record.provider or (route.provider if route else "unknown"),
            provider_request_id=record.provider_request_id,
            error=error,
            usage=usage,
        )
        ours = False

        def change(current: DispatchRecord) -> DispatchRecord:
            nonlocal ours  # the last call is the one that was written
            ours = current.attempt == attempt and current.outcome is None
            return current.next_attempt(failure) if ours else current

        moved = await self.records.update(record.job_id, change)
        if not ours:
            return None
        log.warning("dispatch.next_route", failed_attempt=attempt, code=error.code)
        await self.events.attempts_failed(moved)
        return moved

    async def ensure_attempt(self, record: DispatchRecord) -> None:
        """Submit the record's current attempt unless done, then announce it (idempotent)."""
        while True:
            if record.outcome is not None:
                log.info("dispatch.already_decided", outcome=record.outcome)
                return
            if record.canceled and record.provider_request_id is None:
                await self.events.canceled(record.job_id)
                return
            if record.provider_request_id is None:
                submitted = await self._submit_attempt(record)
                if submitted is None:
                    return
                record = submitted
                if record.provider_request_id is None:
                    continue  # moved on to the next route
            if not record.scheduled:
                await self._announce(record)
            else:
                log.info("dispatch.already_submitted", request=record.provider_request_id)
            return

    async def _submit_attempt(self, record: DispatchRecord) -> DispatchRecord | None:
        job = record.request
        if job is None:
            log.error("dispatch.record_without_request")
            return None
        routes = job.all_routes()
        attempt = record.attempt
        route = routes[attempt]
        adapter = self.registry.get(route.provider)
        now = self.events.clock()
        deadline_at = record.deadline_at or finish_deadline(now, job.deadline_seconds)
        if now >= deadline_at:
            await self.events.fail(
                job.job_id,
                provider_error("provider_timeout", detail="the deadline passed before submission"),
            )
            return None
        hook = webhook_url(self.webhook_base_url, route.provider, job.job_id)
        options = SubmitOptions(
            webhook_url=hook,
            cancel_after_seconds=provider_cancel_after(now=now, deadline_at=deadline_at),
        )
        # built per attempt: a later route gets URLs that are fresh again
        provider_input = self.upload_links.provider_input(job.input, job.input_objects)
        try:
            request_id = await submit_with_retries(
                lambda: adapter.submit(route.provider_model, provider_input, options), self.retry
            )
        except TransientError as exc:
            if attempt + 1 >= len(routes):
                raise
            return await self.advance(record, error_from(exc, "provider"))
        start_seconds = job.start_deadline_seconds or self.default_start_deadline_seconds
        update = {
            "provider": route.provider,
            "provider_model": route.provider_model,
            "provider_request_id": request_id,
            "submitted_at": now,
            "deadline_at": deadline_at,
            "start_deadline_at": start_deadline(now, start_seconds, deadline_at),
            "webhooks": hook is not None,
        }
        saved = await self.records.update(
            job.job_id,
            lambda r: (
                r.model_copy(update=update)
                if r.attempt == attempt and r.provider_request_id is None
                else r
            ),
        )
        if saved.provider_request_id != request_id:  # lost a race: ours is an orphan
            await cancel_quietly(adapter, route.provider_model, request_id)
            return saved
        if saved.canceled:  # the owner canceled while we were submitting
            await cancel_quietly(adapter, route.provider_model, request_id)
            # the job may already be canceled without it: its attempts still name the request
            # the provider made (and may bill) for it
            await self.events.publish(
                GenerationSubmitted(
                    event_id=f"{job.job_id}:submitted{attempt_suffix(attempt)}",
                    job_id=job.job_id,
                    provider=route.provider,
                    provider_request_id=request_id,
                )
            )
            return None
        return saved

    async def _announce(self, record: DispatchRecord) -> None:
        assert record.provider is not None
        assert record.provider_request_id is not None
        assert record.deadline_at is not None
        suffix = attempt_suffix(record.attempt)
        await self.events.publish(
            GenerationSubmitted(
                event_id=f"{record.job_id}:submitted{suffix}",
                job_id=record.job_id,
                provider=record.provider,
                provider_request_id=record.provider_request_id,
            )
        )
        await self.events.publish(
            PollPrediction(
                event_id=f"{record.job_id}:poll{suffix}",
                job_id=record.job_id,
                provider=record.provider,
                provider_model=record.provider_model or "",
                provider_request_id=record.provider_request_id,
                deadline_at=record.deadline_at,
                attempt=record.attempt,
            )
        )
        attempt = record.attempt
        await self.records.update(
            record.job_id,
            lambda r: r.model_copy(update={"scheduled": True}) if r.attempt == attempt else r,
        )
        log.info("dispatch.submitted", provider=record.provider, request=record.provider_request_id)


async def cancel_quietly(adapter: ProviderAdapter, model: str, request_id: str) -> str | None:
    """Best effort: the job ends either way; a failed cancel is only logged."""
    try:
        return await adapter.cancel(model, request_id)
    except Exception as exc:
        log.warning("provider.cancel_failed", provider_request_id=request_id, error=repr(exc))
        return None
