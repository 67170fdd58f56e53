"""API shapes of compositions (requests in, representations out)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reelhouse.common.composition_events import Transition
from reelhouse.common.jobstate import JobStatus
from reelhouse.gateway.compositions.ids import MAX_SCENES, CompositionStatus, Policy
from reelhouse.gateway.jobs.schemas import JobErrorOut, OutputOut, WebhookEvents, WebhookUrl


class SceneCreate(BaseModel):
    """One scene: a generation of a video model (see ``GET /v1/models``)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200, description="A video model's id")
    input: dict[str, Any] = Field(
        default_factory=dict,
        description="The model's input (a prompt, an image as `upload://…`, …)",
    )
    duration: int | None = Field(
        default=None,
        ge=1,
        le=600,
        description="Target length in seconds: sets the model's `duration` input (a model "
        "without one is a 422)",
    )


class GeneratedScore(BaseModel):
    """A score generated for the whole film by an audio model (one track, not one per scene)."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(min_length=1, max_length=200, examples=["sandbox/text-to-music"])
    prompt: str = Field(min_length=1, max_length=2000)


class UploadedTrack(BaseModel):
    """An audio file uploaded with ``POST /v1/uploads``."""

    model_config = ConfigDict(extra="forbid")

    upload: str = Field(
        min_length=1, max_length=100, examples=["upload://upl_0123456789abcdef0123456789abcdef"]
    )


class CompositionCreate(BaseModel):
    """Ask for a film: scenes generated in parallel, joined in order, with one audio track."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "scenes": [
                        {"model": "sandbox/text-to-video", "input": {"prompt": "dawn"}},
                        {"model": "sandbox/text-to-video", "input": {"prompt": "noon"}},
                    ],
                    "audio": {"model": "sandbox/text-to-music", "prompt": "calm piano"},
                    "transition": {"type": "crossfade", "seconds": 0.5},
                    "policy": "fail_fast",
                }
            ]
        },
    )

    scenes: list[SceneCreate] = Field(min_length=1, max_length=MAX_SCENES)
    audio: GeneratedScore | UploadedTrack | None = Field(
        default=None, description="A generated score, an uploaded track, or none"
    )
    transition: Transition = Field(
        default_factory=Transition,
        description="Between scenes: a cut, or a crossfade of `seconds` (0 seconds: a cut)",
    )
    width: int | None = Field(
        default=None, ge=16, le=3840, multiple_of=2, description="Default: the first scene's"
    )
    height: int | None = Field(
        default=None, ge=16, le=3840, multiple_of=2, description="Default: the first scene's"
    )
    fps: float | None = Field(default=None, gt=0, le=120, description="Default: the first scene's")
    policy: Policy = Field(
        default=Policy.FAIL_FAST,
        description="`fail_fast`: a failed part fails the composition and cancels the rest; "
        "`best_effort`: the film is assembled from the scenes that succeeded",
    )
    deadline_seconds: int | None = Field(
        default=None, ge=10, le=86_400, description="Each part's deadline (as a generation's)"
    )
    webhook_url: WebhookUrl = None
    webhook_events: WebhookEvents = None


class PartOut(BaseModel):
    """One generation job of a composition."""

    job_id: str
    model: str
    status: JobStatus
    error: JobErrorOut | None
    retries: list[str] = Field(
        default_factory=list, description="Earlier jobs of this part that failed, oldest first"
    )


class SceneOut(PartOut):
    index: int = Field(description="The scene's place in the film, from 0")


class AudioOut(BaseModel):
    source: Literal["generated", "upload"]
    upload_id: str | None = None
    part: PartOut | None = Field(default=None, description="The score's job (generated)")


class ProgressOut(BaseModel):
    scenes_total: int
    scenes_done: int = Field(description="Scenes finished (succeeded, failed or canceled)")
    scenes_succeeded: int
    scenes_failed: int
    summary: str = Field(examples=["2 of 3 scenes done"])


class CompositionErrorOut(JobErrorOut):
    scene: int | None = Field(
        default=None, description="The scene whose failure failed the composition"
    )


class UnknownCostPart(BaseModel):
    part: Literal["scene", "audio"]
    index: int | None = None
    job_id: str


class CompositionCostOut(BaseModel):
    """The sum of every part's cost (retried jobs included) and the assembly's."""

    estimate_usd: float | None = Field(description="Sum of the known estimates")
    actual_usd: float | None = Field(
        description="Sum of the known actual costs (None when none is known yet)"
    )
    assembly_usd: float = Field(description="The assembly runs on this deployment: 0")
    unknown: list[UnknownCostPart] = Field(
        description="Parts whose actual cost is not known (yet): counted apart, never as 0"
    )
    simulated: bool = Field(description="Some part has a nominal price (the sandbox)")


class OutputFormatOut(BaseModel):
    width: int | None
    height: int | None
    fps: float | None


class CompositionLinks(BaseModel):
    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    self_: str = Field(alias="self")
    events: str = Field(description="Server-sent events: the composition on every change")
    cancel: str
    retry: str


class Composition(BaseModel):
    id: str = Field(examples=["cmp_3f0c6a1e9b2d4c7f8a5e1d2c3b4a5f60"])
    object: Literal["composition"] = "composition"
    status: CompositionStatus
    policy: Policy
    scenes: list[SceneOut]
    audio: AudioOut | None
    transition: Transition
    output_format: OutputFormatOut = Field(description="As asked (None: the first scene's)")
    progress: ProgressOut
    outputs: list[OutputOut] = Field(description="The film, once `succeeded`")
    missing_scenes: list[int] = Field(
        description="Scenes the film was assembled without (best_effort)"
    )
    missing_audio: bool = Field(description="The score failed and the film has no track")
    assembly_method: Literal["copy", "reencode"] | None = Field(
        description="`copy`: the scenes were joined without re-encoding"
    )
    error: CompositionErrorOut | None
    cost: CompositionCostOut
    cancel_requested: bool
    created_at: datetime
    updated_at: datetime
    webhook_url: str | None = None
    webhook_events: list[str] | None = None
    links: CompositionLinks


class CompositionPage(BaseModel):
    data: list[Composition]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page")
