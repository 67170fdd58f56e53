"""API shapes of generation jobs (requests in, representations out)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reelhouse.common.jobstate import JobStatus
from reelhouse.gateway.costs.schemas import CostOut
from reelhouse.gateway.webhooks.events import WEBHOOK_EVENTS

OutputKind = Literal["video", "image", "audio"]

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


WEBHOOK_URL_PATTERN = (
    r"^https://[A-Za-z][A-Za-z0-9-]{0,62}(\.[A-Za-z0-9-]{1,63}){0,5}(:[0-9]{1,4})?(/[!-~]*)?$"
)


# a webhook subscription's two request fields (a generation's, a composition's)
WebhookUrl = Annotated[
    str | None,
    Field(
        max_length=2000,
        description=(
            "Where to POST signed webhooks about this job (Standard Webhooks; see "
            "`GET /v1/webhooks/secret`). Must pass the deployment's SSRF guard: allowed scheme, "
            "no private or loopback address (code `invalid_webhook_url`); plain `http` only "
            "where the deployment allows it (the embedded mode)"
        ),
        examples=["https://example.com/hooks/reelhouse"],
        # documents the common shape (the SSRF guard decides, with its own code)
        json_schema_extra={"format": "uri", "pattern": WEBHOOK_URL_PATTERN},
    ),
]
WebhookEvents = Annotated[
    list[str] | None,
    Field(
        max_length=5,
        description=(
            "Which events to send: any of `status`, `progress`, `succeeded`, `failed`, "
            "`canceled` (default: `succeeded`, `failed`, `canceled`; code "
            "`invalid_webhook_events`); only with a `webhook_url`"
        ),
        examples=[["succeeded", "failed", "canceled"]],
        # documents the names (the subscription check refuses others, with its own code)
        json_schema_extra={
            "minItems": 1,
            "items": {"type": "string", "enum": list(WEBHOOK_EVENTS)},
        },
    ),
]


class GenerationCreate(BaseModel):
    """Ask for one generation; ``input`` must fit the model's schema (see ``GET /v1/models``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "model": "sandbox/text-to-video",
                    "input": {"prompt": "a red fox running through snow", "duration": 3},
                }
            ]
        },
    )

    model: str = Field(min_length=1, max_length=200, description="A model id from the catalogue")
    input: dict[str, Any] = Field(default_factory=dict)
    deadline_seconds: int | None = Field(
        default=None,
        ge=10,
        le=86_400,
        description=(
            "Give up (failed, code provider_timeout) if not finished by then; defaults to the "
            "deployment's default and may not exceed its maximum"
        ),
    )
    start_deadline_seconds: int | None = Field(
        default=None,
        ge=1,
        le=86_400,
        description=(
            "How long a provider may take to start the work before the model's next provider "
            "route is tried (or, on the last route, the job keeps waiting for its deadline); "
            "one not less than the deadline could never fire first and is left out"
        ),
    )
    webhook_url: WebhookUrl = None
    webhook_events: WebhookEvents = None


class JobErrorOut(BaseModel):
    """Why a job failed: where, a catalogued code, a human message, the provider's own words."""

    stage: Literal["gateway", "dispatch", "provider", "download", "storage", "assembly"]
    code: str = Field(examples=["not_media"])
    message: str
    retryable: bool
    provider_detail: str | None = None


class AttemptOut(BaseModel):
    """One submission to a provider; a model with several routes may need more than one."""

    provider: str = Field(examples=["sandbox"])
    provider_request_id: str | None = Field(
        description="The provider's id for the prediction (None when the submit was refused)"
    )
    status: Literal["running", "failed", "succeeded", "canceled"]
    error: JobErrorOut | None = Field(description="Why this attempt failed, when it did")
    redownload_of: str | None = Field(
        default=None,
        description="Set on a retry that re-downloads instead of generating again: the job "
        "whose provider output (this provider request) is fetched once more",
    )


class OutputOut(BaseModel):
    """A stored output; ``url`` is a short-lived signed media URL, fresh on every read."""

    index: int
    kind: OutputKind
    url: str
    content_type: str = Field(examples=["video/mp4"])
    size: int = Field(description="Bytes")
    sha256: str
    duration: float | None = Field(default=None, description="Seconds")
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    bit_rate: int | None = None
    poster_url: str | None = Field(default=None, description="Signed URL of a poster frame")


class GenerationLinks(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    self_: str = Field(alias="self")
    events: str
    cancel: str = Field(description="POST here to cancel the job")
    retry: str = Field(description="POST here to retry the job once it failed or was canceled")


class Generation(BaseModel):
    id: str = Field(examples=["gen_3f0c6a1e9b2d4c7f8a5e1d2c3b4a5f60"])
    status: JobStatus
    model: str
    input: dict[str, Any]
    error: JobErrorOut | None = Field(description="Set when `status` is `failed`")
    outputs: list[OutputOut] = Field(description="Only ever filled when `status` is `succeeded`")
    attempts: list[AttemptOut] = Field(description="Provider attempts, oldest first")
    cancel_requested: bool = Field(
        description="The owner asked to cancel; `status` turns `canceled` once the provider "
        "confirms, or `succeeded`/`failed` if it finished first"
    )
    cancel_requested_at: datetime | None
    deadline_seconds: int
    start_deadline_seconds: int | None
    created_at: datetime
    updated_at: datetime
    webhook_url: str | None = Field(default=None, description="Where webhooks about it go")
    webhook_events: list[str] | None = Field(
        default=None, description="The events sent to `webhook_url` (None without one)"
    )
    retry_of: str | None = Field(
        default=None, description="The job this one retries (`POST …/{id}/retry`)"
    )
    retried_by: str | None = Field(
        default=None, description="The job that retries this one, once it was retried"
    )
    cost: CostOut = Field(description="What the job costs: estimated at submit, actual once known")
    composition_id: str | None = Field(
        default=None, description="The composition this job is a scene (or the score) of"
    )
    links: GenerationLinks


class GenerationPage(BaseModel):
    data: list[Generation]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page")


class GenerationEventOut(BaseModel):
    """One event in a job's history, as recorded by the gateway."""

    id: str
    type: str = Field(examples=["reelhouse.generation.submitted.v1"])
    status: JobStatus | None = Field(description="The status this event moved the job to, if any")
    occurred_at: datetime
    recorded_at: datetime
    data: dict[str, Any] = Field(description="Selected fields of the event")


class GenerationEventList(BaseModel):
    data: list[GenerationEventOut]
