"""Every wire message reelhouse publishes on NATS JetStream.

Subjects are versioned and past tense; each carries exactly one pydantic model.
The CloudEvents-style attributes travel in NATS headers (see ``ce_headers``) and
``Nats-Msg-Id`` equals the event id so the broker drops duplicates.

These subjects and fields are a public interface (documented in docs/asyncapi.yaml):
change them only on purpose, by adding a new version.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

STREAM_NAME = "REELHOUSE"
STREAM_SUBJECTS = ["gen.>", "dispatch.>", "composition.>"]
# poison messages, kept apart from the events (reelhouse.common.deadletter)
DEADLETTER_STREAM_NAME = "REELHOUSE_DEADLETTER"

EVENT_SOURCE_PREFIX = "reelhouse"


def new_event_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class Event(BaseModel):
    """Base of every wire message: one subject, one schema."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    subject: ClassVar[str]
    event_type: ClassVar[str]

    event_id: str = Field(default_factory=new_event_id)
    job_id: str
    occurred_at: datetime = Field(default_factory=utcnow)

    def ce_headers(self, source: str) -> dict[str, str]:
        """CloudEvents attributes as NATS headers, with broker de-duplication on the id."""
        return {
            "Nats-Msg-Id": self.event_id,
            "ce-specversion": "1.0",
            "ce-id": self.event_id,
            "ce-type": self.event_type,
            "ce-source": f"{EVENT_SOURCE_PREFIX}/{source}",
            "ce-time": self.occurred_at.isoformat(),
            "ce-subject": self.job_id,
        }


class JobError(BaseModel):
    """The one normalised failure shape, on the job and on ``gen.failed.v1``."""

    model_config = ConfigDict(frozen=True)

    stage: Literal["gateway", "dispatch", "provider", "download", "storage", "assembly"]
    code: str
    message: str
    retryable: bool = False
    provider_detail: str | None = None


class OutputFile(BaseModel):
    """A provider's temporary output, as the dispatcher found it."""

    model_config = ConfigDict(frozen=True)

    index: int
    url: str
    content_type: str | None = None
    size: int | None = None
    expires_at: datetime | None = None


class Asset(BaseModel):
    """A stored output: where it lives in our object store and what it is."""

    model_config = ConfigDict(frozen=True)

    index: int
    key: str
    content_type: str
    size: int
    sha256: str
    kind: Literal["video", "image", "audio"]
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    bit_rate: int | None = None
    poster_key: str | None = None


class ProviderRoute(BaseModel):
    """One way to run a model: which provider, under which of its model names."""

    model_config = ConfigDict(frozen=True)

    provider: str
    provider_model: str


class ProviderUsage(BaseModel):
    """What the provider reported it used for one attempt (the basis of its bill), if it told.

    ``predict_time_seconds``: compute time (Replicate ``metrics.predict_time``, fal
    ``metrics.inference_time``); ``billed_units``: the units the provider billed, in the
    model's own price unit (fal's ``x-fal-billable-units``). None: not reported.
    """

    model_config = ConfigDict(frozen=True)

    predict_time_seconds: float | None = Field(default=None, ge=0)
    billed_units: float | None = Field(default=None, ge=0)


class GenerationRequested(Event):
    """A job was accepted by the gateway (gateway → dispatcher)."""

    subject: ClassVar[str] = "gen.requested.v1"
    event_type: ClassVar[str] = "reelhouse.generation.requested.v1"

    owner_id: str
    model: str
    # the first route; ``routes`` lists it again followed by the fallbacks, in order
    provider: str
    provider_model: str
    input: dict[str, Any]
    deadline_seconds: int
    # time the provider may take to start the work before the next route is tried
    start_deadline_seconds: int | None = None
    routes: list[ProviderRoute] = Field(default_factory=list)
    # the input's upload references (``"upload://upl_…"``) → their object keys; the
    # dispatcher hands the provider a short-lived signed URL in place of each reference
    input_objects: dict[str, str] = Field(default_factory=dict)

    def all_routes(self) -> list[ProviderRoute]:
        """The routes to try in order (just the first one when none were listed)."""
        return self.routes or [
            ProviderRoute(provider=self.provider, provider_model=self.provider_model)
        ]


class CancelRequested(Event):
    """The owner asked to cancel a job (gateway → dispatcher)."""

    subject: ClassVar[str] = "gen.cancel.v1"
    event_type: ClassVar[str] = "reelhouse.generation.cancel_requested.v1"

    owner_id: str


class GenerationSubmitted(Event):
    """The provider accepted the generation (dispatcher → gateway)."""

    subject: ClassVar[str] = "gen.submitted.v1"
    event_type: ClassVar[str] = "reelhouse.generation.submitted.v1"

    provider: str
    provider_request_id: str


class GenerationProgressed(Event):
    """Provider status, queue position, logs or percent changed (dispatcher → gateway)."""

    subject: ClassVar[str] = "gen.progress.v1"
    event_type: ClassVar[str] = "reelhouse.generation.progressed.v1"

    provider_status: str
    running: bool
    queue_position: int | None = None
    percent: float | None = None
    logs: str | None = None


class GenerationOutputReady(Event):
    """The provider finished; its temporary output URLs (dispatcher → downloader)."""

    subject: ClassVar[str] = "gen.output.v1"
    event_type: ClassVar[str] = "reelhouse.generation.output_ready.v1"

    provider: str
    provider_request_id: str
    outputs: list[OutputFile]
    usage: ProviderUsage | None = None


class GenerationAttemptFailed(Event):
    """One provider attempt failed and the job moved on to the next route (dispatcher → gateway)."""

    subject: ClassVar[str] = "gen.attempt_failed.v1"
    event_type: ClassVar[str] = "reelhouse.generation.attempt_failed.v1"

    attempt: int
    provider: str
    provider_request_id: str | None = None
    error: JobError
    next_provider: str
    usage: ProviderUsage | None = None


class GenerationStored(Event):
    """Outputs are stored in our object store, with metadata (downloader → gateway)."""

    subject: ClassVar[str] = "gen.stored.v1"
    event_type: ClassVar[str] = "reelhouse.generation.stored.v1"

    assets: list[Asset]


class GenerationFailed(Event):
    """The job failed: stage, code, message, retryable, provider detail (any → gateway)."""

    subject: ClassVar[str] = "gen.failed.v1"
    event_type: ClassVar[str] = "reelhouse.generation.failed.v1"

    error: JobError
    # what the provider used before the job failed (None: no provider work, or not told)
    usage: ProviderUsage | None = None


class GenerationCanceled(Event):
    """The job was canceled and the provider told (dispatcher → gateway)."""

    subject: ClassVar[str] = "gen.canceled.v1"
    event_type: ClassVar[str] = "reelhouse.generation.canceled.v1"

    reason: str = "canceled by owner"
    usage: ProviderUsage | None = None


class PollPrediction(Event):
    """Dispatcher-internal command: look at the provider again.

    The message is negatively acknowledged with a delay until the prediction is
    final, so the broker is the scheduler. Not part of the public interface.
    """

    subject: ClassVar[str] = "dispatch.poll.v1"
    event_type: ClassVar[str] = "reelhouse.dispatch.poll.v1"

    provider: str
    provider_model: str
    provider_request_id: str
    deadline_at: datetime
    # which of the job's routes this poll is about (0: the first)
    attempt: int = 0
    # "schedule": the recurring poll; "webhook": a one-off look because a webhook arrived
    trigger: Literal["schedule", "webhook"] = "schedule"


JOB_EVENTS: tuple[type[Event], ...] = (
    GenerationRequested,
    CancelRequested,
    GenerationSubmitted,
    GenerationProgressed,
    GenerationOutputReady,
    GenerationAttemptFailed,
    GenerationStored,
    GenerationFailed,
    GenerationCanceled,
)


class EventProjected(BaseModel):
    """A gateway committed an event to a job's history (every gateway → every gateway).

    A wake-up call on core NATS, not stored in the stream: a gateway's live streams read
    the database when one arrives (and at a bounded interval when none does).
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    subject: ClassVar[str] = "gateway.projected.v1"

    job_id: str
    owner_id: str
    event_id: str = Field(description="the event's id, as in the job's `/events` list")


EVENTS_BY_SUBJECT: dict[str, type[Event]] = {e.subject: e for e in JOB_EVENTS}
EVENTS_BY_SUBJECT[PollPrediction.subject] = PollPrediction


def parse_event(subject: str, body: bytes) -> Event:
    """Decode a message body by its subject; raises KeyError for an unknown subject."""
    return EVENTS_BY_SUBJECT[subject].model_validate_json(body)
