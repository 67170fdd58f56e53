"""The dispatcher's use cases behind one object the handlers and webhook routes share.

Submit (``submission.py``), poll (``polling.py``), cancel (``cancel.py``) and the
webhook trigger; events are published with deterministic ids (``outcomes.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog
from faststream.nats import NatsBroker

from reelhouse.common.events import (
    CancelRequested,
    GenerationRequested,
    JobError,
    PollPrediction,
    utcnow,
)
from reelhouse.common.signing import UrlSigner
from reelhouse.common.tracing import continued_trace
from reelhouse.dispatcher.cancel import Canceller
from reelhouse.dispatcher.outcomes import JobEvents
from reelhouse.dispatcher.polling import Poller
from reelhouse.dispatcher.providers.registry import ProviderRegistry
from reelhouse.dispatcher.records import DispatchRecords
from reelhouse.dispatcher.settings import Settings, SubmitRetrySettings
from reelhouse.dispatcher.submission import Submitter
from reelhouse.dispatcher.upload_links import UploadLinks

log = structlog.get_logger(__name__)


class DispatchService:
    def __init__(
        self,
        *,
        broker: NatsBroker,
        registry: ProviderRegistry,
        records: DispatchRecords,
        stream: str,
        poll_interval_seconds: float = 2.0,
        poll_interval_with_webhooks_seconds: float = 10.0,
        webhook_base_url: str | None = None,
        default_start_deadline_seconds: float | None = None,
        submit_retry: SubmitRetrySettings | None = None,
        upload_links: UploadLinks | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.registry = registry
        self.records = records
        self.events = JobEvents(broker, records, stream=stream, clock=clock)
        self.submitter = Submitter(
            events=self.events,
            records=records,
            registry=registry,
            retry=submit_retry or SubmitRetrySettings(),
            webhook_base_url=webhook_base_url,
            default_start_deadline_seconds=default_start_deadline_seconds,
            upload_links=upload_links,
        )
        self.poller = Poller(
            events=self.events,
            records=records,
            registry=registry,
            submitter=self.submitter,
            poll_interval_seconds=poll_interval_seconds,
            poll_interval_with_webhooks_seconds=poll_interval_with_webhooks_seconds,
        )
        self.canceller = Canceller(events=self.events, records=records, registry=registry)
        self.poll_interval_seconds = poll_interval_seconds

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        broker: NatsBroker,
        registry: ProviderRegistry,
        records: DispatchRecords,
    ) -> DispatchService:
        return cls(
            broker=broker,
            registry=registry,
            records=records,
            stream=settings.nats.stream,
            poll_interval_seconds=settings.poll_interval_seconds,
            poll_interval_with_webhooks_seconds=settings.poll_interval_with_webhooks_seconds,
            webhook_base_url=settings.webhook_base_url,
            default_start_deadline_seconds=settings.default_start_deadline_seconds,
            submit_retry=settings.submit_retry,
            upload_links=UploadLinks(
                signer=(
                    UrlSigner(settings.signing.require_keys(), settings.signing.active_key_id)
                    if settings.signing.keys
                    else None
                ),
                public_media_base_url=settings.public_media_base_url,
                ttl_seconds=settings.upload_url_ttl_seconds,
            ),
        )

    def now(self) -> datetime:
        return self.events.clock()

    async def fail(self, job_id: str, error: JobError) -> None:
        await self.events.fail(job_id, error)

    async def submit(self, job: GenerationRequested) -> None:
        await self.submitter.submit(job)

    async def cancel(self, command: CancelRequested) -> None:
        await self.canceller.cancel(command)

    async def poll(self, command: PollPrediction) -> float | None:
        return await self.poller.poll(command)

    async def webhook_arrived(
        self, *, provider: str, job_id: str, request_id: str, token: str
    ) -> bool:
        """A verified webhook: schedule a one-off look now. False when it is not current."""
        record = await self.records.get(job_id)
        if (
            record is None
            or record.outcome is not None
            or record.provider != provider
            or record.provider_request_id != request_id
            or record.deadline_at is None
        ):
            log.info("webhook.not_current", provider=provider, request=request_id)
            return False
        # the provider's request starts a trace of its own: the look it triggers belongs to
        # the job's trace
        with continued_trace(record.trace_context):
            await self.events.publish(
                PollPrediction(
                    event_id=f"{job_id}:webhook:{token}",
                    job_id=job_id,
                    provider=provider,
                    provider_model=record.provider_model or "",
                    provider_request_id=request_id,
                    deadline_at=record.deadline_at,
                    attempt=record.attempt,
                    trigger="webhook",
                )
            )
        log.info("webhook.poll_scheduled", provider=provider, request=request_id)
        return True
