"""Writes a job's webhook deliveries in the projector's transaction, beside the transition.

So a delivery exists exactly when the state it reports is committed: never for a transition
that rolled back, never lost when the process dies after the commit (the worker finds it in
the database). The body is rendered once, here — the job as ``GET /v1/generations/{id}``
showed it at that moment — and sent unchanged on every attempt.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import Event
from reelhouse.common.jobstate import JobStatus
from reelhouse.gateway.db.models import Job, WebhookDelivery
from reelhouse.gateway.jobs import repository
from reelhouse.gateway.jobs.service import JobWithOutputs
from reelhouse.gateway.jobs.views import generation_view, links_under
from reelhouse.gateway.media_urls import MediaUrls
from reelhouse.gateway.webhooks.events import DEFAULT_EVENTS, webhook_types

log = structlog.get_logger(__name__)

DELIVERY_ID_PREFIX = "msg_"
PENDING = "pending"


def new_delivery_id() -> str:
    return DELIVERY_ID_PREFIX + uuid.uuid4().hex


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


class DeliveryRecorder:
    def __init__(
        self,
        *,
        media_urls: MediaUrls,
        public_base_url: str,
        max_age: timedelta,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self._media_urls = media_urls
        self._links = links_under(public_base_url)
        self._max_age = max_age
        self._wake = wake

    async def record(
        self,
        session: AsyncSession,
        job: Job,
        *,
        event: Event,
        moved_to: JobStatus | None,
        now: datetime,
    ) -> int:
        """Add the deliveries ``event`` makes for ``job`` (not committed here); how many."""
        if job.webhook_url is None:
            return 0
        subscribed = job.webhook_events if job.webhook_events is not None else DEFAULT_EVENTS
        types = webhook_types(subscribed, event=event, moved_to=moved_to)
        if not types:
            return 0
        await session.flush()  # the outputs this event stored, for the view
        outputs = await repository.outputs_of(session, [job.id])
        view = generation_view(
            JobWithOutputs(job=job, outputs=outputs[job.id]),
            media_urls=self._media_urls,
            links=self._links,
        )
        data = view.model_dump(mode="json", by_alias=True)
        for type_ in types:
            body = {"type": type_, "timestamp": rfc3339(event.occurred_at), "data": data}
            session.add(
                WebhookDelivery(
                    id=new_delivery_id(),
                    job_id=job.id,
                    owner_id=job.owner_id,
                    event_id=event.event_id,
                    type=type_,
                    url=job.webhook_url,
                    payload=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
                    status=PENDING,
                    attempts=0,
                    created_at=now,
                    next_attempt_at=now,
                    give_up_at=now + self._max_age,
                    locked_until=None,
                    delivered_at=None,
                    last_status_code=None,
                    last_error=None,
                )
            )
        log.info("webhook.recorded", types=types)
        return len(types)

    def committed(self) -> None:
        """The transaction with new deliveries committed: let this process's worker send them."""
        self._wake()
