"""``gateway.projected.v1`` on core NATS: told after a commit, heard by every gateway.

Plain core publish and subscribe (no stream, no durable consumer): a notice is a wake-up
call, at most once. Publishing never fails the caller — a lost notice is made good by
the streams' bounded database poll. So an undecodable notice is logged
(``sse.notice_undecodable``), not dead-lettered: nothing would redeliver it and nothing is
lost without it (docs/adr/0013-dead-letters.md).
"""

from __future__ import annotations

import asyncio

import structlog
from faststream.nats import NatsBroker, NatsMessage
from pydantic import ValidationError

from reelhouse.common.events import EventProjected
from reelhouse.gateway.live.hub import LiveHub

log = structlog.get_logger(__name__)

PUBLISH_TIMEOUT_SECONDS = 1.0


class NoticePublisher:
    def __init__(self, broker: NatsBroker) -> None:
        self._broker = broker

    async def __call__(self, notice: EventProjected) -> None:
        try:
            await asyncio.wait_for(
                self._broker.publish(
                    notice.model_dump_json().encode(), subject=EventProjected.subject
                ),
                timeout=PUBLISH_TIMEOUT_SECONDS,
            )
        except Exception as exc:  # the streams' poll covers a lost notice
            log.warning(
                "sse.notice_not_sent",
                job_id=notice.job_id,
                event_id=notice.event_id,
                error=repr(exc),
            )


def register_notices(broker: NatsBroker, hub: LiveHub) -> None:
    """Subscribe ``hub`` to every gateway's notices (starts with the broker)."""

    async def on_projected(msg: NatsMessage) -> None:
        try:
            notice = EventProjected.model_validate_json(msg.body)
        except ValidationError as exc:
            log.warning("sse.notice_undecodable", error=str(exc))
            return
        hub.notify(notice)

    broker.subscriber(
        EventProjected.subject,
        title="gateway-live-notices",
        description="Wakes this gateway's SSE streams when any gateway commits an event.",
    )(on_projected)
