"""API shapes of generation jobs (requests in, representations out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reelhouse.common.jobstate import JobStatus

OutputKind = Literal["video", "image", "audio"]

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20


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
        description="Give up (failed, code provider_timeout) if not finished by then",
    )


class JobErrorOut(BaseModel):
    """Why a job failed: where, a catalogued code, a human message, the provider's own words."""

    stage: Literal["gateway", "dispatch", "provider", "download", "storage"]
    code: str = Field(examples=["not_media"])
    message: str
    retryable: bool
    provider_detail: str | None = None


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


class Generation(BaseModel):
    id: str = Field(examples=["gen_3f0c6a1e9b2d4c7f8a5e1d2c3b4a5f60"])
    status: JobStatus
    model: str
    input: dict[str, Any]
    error: JobErrorOut | None
    outputs: list[OutputOut]
    deadline_seconds: int
    created_at: datetime
    updated_at: datetime
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
