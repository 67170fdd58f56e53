"""The wire messages of compositions: the gateway asks for an assembly, the assembler answers.

A composition (``cmp_…``) is a film made of several generation jobs (its scenes, and an
optional generated score). The gateway follows the scenes through their ordinary events; once
they are settled it publishes ``composition.ready.v1`` with the stored assets to join, and the
assembler answers ``composition.assembled.v1`` (the film, stored) or
``composition.assembly_failed.v1``. ``job_id`` (and the ``ce-subject`` header) carries the
composition id on these messages.

``assembly`` numbers the assemblies of one composition (1, then one more after each retry), so
a late answer to an earlier assembly is told apart and ignored.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from reelhouse.common.events import Asset, Event, JobError

COMPOSITION_SUBJECTS = "composition.>"
MAX_CROSSFADE_SECONDS = 5.0


class Transition(BaseModel):
    """How one scene gives way to the next: a hard cut, or a crossfade of ``seconds``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["cut", "crossfade"] = "cut"
    seconds: float = Field(
        default=0.0,
        ge=0,
        le=MAX_CROSSFADE_SECONDS,
        description="overlap of a crossfade, in seconds (0 for a cut)",
    )


class OutputFormat(BaseModel):
    """The film's frame size and rate; a field left out takes the first joined scene's."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    width: int | None = Field(default=None, ge=16, le=3840, multiple_of=2)
    height: int | None = Field(default=None, ge=16, le=3840, multiple_of=2)
    fps: float | None = Field(default=None, gt=0, le=120)


class SceneClip(BaseModel):
    """One stored scene to join, in film order (``index``: its place in the request)."""

    model_config = ConfigDict(frozen=True)

    index: int = Field(ge=0)
    job_id: str
    asset: Asset


class AudioBed(BaseModel):
    """The one track laid under the whole film: a generated score or an uploaded file."""

    model_config = ConfigDict(frozen=True)

    source: Literal["generated", "upload"]
    key: str
    content_type: str
    duration: float | None = None
    # the score's job (``source="generated"``) or the upload's id
    reference: str


class CompositionReady(Event):
    """Every scene is settled; join these into one film (gateway → assembler)."""

    subject: ClassVar[str] = "composition.ready.v1"
    event_type: ClassVar[str] = "reelhouse.composition.ready.v1"

    owner_id: str
    assembly: int = Field(ge=1)
    scenes: list[SceneClip] = Field(min_length=1)
    # scene indexes left out (failed under the best_effort policy), for the record
    missing: list[int] = Field(default_factory=list)
    audio: AudioBed | None = None
    transition: Transition = Field(default_factory=Transition)
    output: OutputFormat = Field(default_factory=OutputFormat)
    # the film's and poster's base keys: each assembly run stores beside them under keys of
    # its own (``outputs/<id>/0.<run>.mp4``); the assembled event's asset names the run's
    key: str
    poster_key: str


class CompositionAssembled(Event):
    """The film is stored, probed and has a poster (assembler → gateway)."""

    subject: ClassVar[str] = "composition.assembled.v1"
    event_type: ClassVar[str] = "reelhouse.composition.assembled.v1"

    assembly: int = Field(ge=1)
    asset: Asset
    # "copy": the scenes' streams matched and were joined without re-encoding
    method: Literal["copy", "reencode"]


class CompositionAssemblyFailed(Event):
    """The film could not be made (assembler → gateway); ``error.stage`` is ``assembly``."""

    subject: ClassVar[str] = "composition.assembly_failed.v1"
    event_type: ClassVar[str] = "reelhouse.composition.assembly_failed.v1"

    assembly: int = Field(ge=1)
    error: JobError


COMPOSITION_EVENTS: tuple[type[Event], ...] = (
    CompositionReady,
    CompositionAssembled,
    CompositionAssemblyFailed,
)
