"""Opening SSE streams: ``GET /v1/events`` and the event-stream form of a job's ``/events``.

Checks happen before the first byte (so they answer problem+json): the job is the
owner's (else 404), ``Last-Event-ID`` names one of the owner's events — of this job, for a
job stream (else 400 ``unknown_last_event_id``), and the owner holds fewer streams than
allowed on this process (else 429 ``too_many_streams``). A job stream resumed after its
final event answers 204, which tells ``EventSource`` to stop reconnecting.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Header, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from reelhouse.common.jobstate import JobStatus, is_final
from reelhouse.gateway.auth.dependencies import Principal, ReadScope
from reelhouse.gateway.dependencies import ServicesDep, SessionDep
from reelhouse.gateway.jobs.service import owned_job
from reelhouse.gateway.live import reader
from reelhouse.gateway.live.hub import Listener, LiveHub, TooManyStreamsError
from reelhouse.gateway.live.sse import MEDIA_TYPE
from reelhouse.gateway.live.streams import job_stream, owner_stream
from reelhouse.gateway.problems import ProblemError, problem_responses
from reelhouse.gateway.settings import SseSettings

log = structlog.get_logger(__name__)

router = APIRouter(tags=["generations"])

MAX_EVENT_ID_LENGTH = 200

EVENT_STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Server-sent events (a job's `/events` answers them to `Accept: "
        "text/event-stream`, its JSON list otherwise): `id:` the event id, `event:` its type, `data:` JSON with `job_id`, `status` — "
        "the job's status after the event — and the event's fields such as `queue_position`, "
        "`percent`, `logs`; `: keep-alive` comments and a `retry:` hint.",
        "content": {MEDIA_TYPE: {"schema": {"type": "string"}}},
    },
}
RESUMED_AFTER_FINAL: dict[int | str, dict[str, Any]] = {
    204: {"description": "Resumed after the job's final event: nothing more will come."}
}
STREAM_PROBLEMS = (
    "unauthorized",
    "insufficient_scope",
    "unknown_last_event_id",
    "too_many_streams",
)

LastEventIdHeader = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        max_length=MAX_EVENT_ID_LENGTH,
        description="SSE: resume after this event id (sent by `EventSource` on reconnect)",
    ),
]
LastEventIdQuery = Annotated[
    str | None,
    Query(
        max_length=MAX_EVENT_ID_LENGTH,
        description="SSE: as the `Last-Event-ID` header (which wins), for clients that "
        "cannot set headers",
    ),
]


class EventStreamResponse(StreamingResponse):
    """A stream that gives its slot back however it ends (even if it never started)."""

    def __init__(self, content: AsyncIterator[bytes], *, listener: Listener) -> None:
        super().__init__(
            content,
            media_type=MEDIA_TYPE,
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
        self._listener = listener

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._listener.close()


def open_listener(
    hub: LiveHub, settings: SseSettings, owner: Principal, job_id: str | None
) -> Listener:
    try:
        return hub.open(owner_id=owner.owner_id, job_id=job_id)
    except TooManyStreamsError:
        log.info("sse.too_many_streams", owner_id=owner.owner_id)
        raise ProblemError(
            "too_many_streams",
            f"At most {settings.max_streams_per_owner} open event streams per owner; "
            "close one first.",
            headers={"Retry-After": str(max(1, math.ceil(settings.retry_ms / 1000)))},
        ) from None


async def _position(session: AsyncSession, owner: Principal, event_id: str) -> reader.Position:
    found = await reader.find_event(session, owner_id=owner.owner_id, event_id=event_id)
    if found is None:
        raise ProblemError(
            "unknown_last_event_id",
            "Last-Event-ID names no event of this stream; reconnect without it.",
        )
    return found


async def open_job_stream(
    *,
    session: AsyncSession,
    sessions: async_sessionmaker[AsyncSession],
    hub: LiveHub,
    settings: SseSettings,
    owner: Principal,
    job_id: str,
    last_event_id: str | None,
) -> Response:
    """The SSE answer of ``GET /v1/generations/{id}/events``."""
    job = await owned_job(session, owner, job_id)
    after = 0
    if last_event_id:
        position = await _position(session, owner, last_event_id)
        if position.job_id != job_id:
            raise ProblemError(
                "unknown_last_event_id", "Last-Event-ID names no event of this generation."
            )
        after = position.pk
        if is_final(JobStatus(job.status)):
            seen = await reader.events_by_pk(session, [after])
            if seen and is_final(seen[0].job_status):
                await session.close()
                return Response(status_code=204)
    # the request's session is not needed while streaming: give its connection back
    await session.close()
    listener = open_listener(hub, settings, owner, job_id)
    log.info("sse.job_stream_opened", job_id=job_id, after=after)
    return EventStreamResponse(
        job_stream(
            sessions=sessions, listener=listener, settings=settings, job_id=job_id, after=after
        ),
        listener=listener,
    )


def resume_id(header: str | None, query: str | None) -> str | None:
    return header or query or None


@router.get(
    "/v1/events",
    summary="Live events of every generation of the key's owner (server-sent events)",
    description=(
        "A `text/event-stream` of every event of the owner's generations, in the order "
        "recorded, as they happen (`id:`, `event:`, `data:` as on a generation's event "
        "stream). Without `Last-Event-ID` it starts with the events recorded from now on; "
        "with it, right after that event — nothing repeated, nothing lost. "
        "`: keep-alive` comments keep idle connections open."
    ),
    response_class=StreamingResponse,
    responses={
        **EVENT_STREAM_RESPONSE,
        **problem_responses("validation_error", *STREAM_PROBLEMS),
    },
)
async def stream_owner_events(
    session: SessionDep,
    owner: ReadScope,
    services: ServicesDep,
    last_event_id_header: LastEventIdHeader = None,
    last_event_id: LastEventIdQuery = None,
) -> Response:
    resume = resume_id(last_event_id_header, last_event_id)
    after = (await _position(session, owner, resume)).pk if resume else None
    await session.close()
    settings = services.settings.sse
    listener = open_listener(services.hub, settings, owner, None)
    log.info("sse.owner_stream_opened", owner_id=owner.owner_id, after=after)
    return EventStreamResponse(
        owner_stream(
            sessions=services.sessions,
            listener=listener,
            settings=settings,
            owner_id=owner.owner_id,
            after=after,
        ),
        listener=listener,
    )
