"""Writes webhook deliveries in the transaction that makes the change they report.

A job's in the projector's transaction, beside the transition; a composition's beside its
change of status (a part settling in the projector, the assembler's answer, a cancel or retry
through the API). So a delivery exists exactly when the state it reports is committed: never
for a transition that rolled back, never lost when the process dies after the commit (the
worker finds it in the database). The body is rendered once, here — the job as
``GET /v1/generations/{id}`` (the composition as ``GET /v1/compositions/{id}``) showed it at
that moment — and sent unchanged on every attempt.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import Event
from reelhouse.common.jobstate import JobStatus
from reelhouse.gateway.compositions import repository as compositions
from reelhouse.gateway.compositions.views import composition_links_under, composition_view
from reelhouse.gateway.db.models import Composition, Job, WebhookDelivery
from reelhouse.gateway.jobs import repository
from reelhouse.gateway.jobs.service import JobWithOutputs
from reelhouse.gateway.jobs.views import generation_view, links_under
from reelhouse.gateway.media_urls import MediaUrls
from reelhouse.gateway.webhooks.events import (
    DEFAULT_EVENTS,
    composition_types,
    webhook_types,
)

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
        self._composition_links = composition_links_under(public_base_url)
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
        self._add(
            session,
            types,
            data=view.model_dump(mode="json", by_alias=True),
            timestamp=event.occurred_at,
            url=job.webhook_url,
            owner_id=job.owner_id,
            event_id=event.event_id,
            now=now,
            job_id=job.id,
        )
        return len(types)

    async def record_composition(
        self,
        session: AsyncSession,
        composition: Composition,
        *,
        cause: str,
        moved_to: str | None,
        part_settled: bool = False,
        occurred_at: datetime,
        now: datetime,
    ) -> int:
        """Add the deliveries a change of ``composition`` makes (not committed here); how many.

        ``cause`` names what made the change (the part's job event, the assembler's answer,
        the API call): with the type, it keys the delivery, so it is recorded once.
        """
        if composition.webhook_url is None:
            return 0
        subscribed = (
            composition.webhook_events if composition.webhook_events is not None else DEFAULT_EVENTS
        )
        types = composition_types(subscribed, moved_to=moved_to, part_settled=part_settled)
        if not types:
            return 0
        await session.flush()  # the parts' states this transaction wrote, for the view
        parts = await compositions.parts_of(session, [composition.id])
        view = composition_view(
            composition,
            parts[composition.id],
            media_urls=self._media_urls,
            links=self._composition_links,
        )
        self._add(
            session,
            types,
            data=view.model_dump(mode="json", by_alias=True),
            timestamp=occurred_at,
            url=composition.webhook_url,
            owner_id=composition.owner_id,
            event_id=cause,
            now=now,
            composition_id=composition.id,
        )
        return len(types)

    def _add(
        self,
        session: AsyncSession,
        types: list[str],
        *,
        data: dict[str, Any],
        timestamp: datetime,
        url: str,
        owner_id: str,
        event_id: str,
        now: datetime,
        job_id: str | None = None,
        composition_id: str | None = None,
    ) -> None:
        for type_ in types:
            body = {"type": type_, "timestamp": rfc3339(timestamp), "data": data}
            session.add(
                WebhookDelivery(
                    id=new_delivery_id(),
                    job_id=job_id,
                    composition_id=composition_id,
                    owner_id=owner_id,
                    event_id=event_id,
                    type=type_,
                    url=url,
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

    def committed(self) -> None:
        """The transaction with new deliveries committed: let this process's worker send them."""
        self._wake()
