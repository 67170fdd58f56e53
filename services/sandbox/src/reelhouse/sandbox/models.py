"""The models the sandbox offers: their inputs (validated like Cog does) and their renders."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from reelhouse.sandbox.faults import FaultParams, plan_faults
from reelhouse.sandbox.image_input import URL_SCHEMES, Fetcher, decode_image
from reelhouse.sandbox.instant import CLIP, write_clip
from reelhouse.sandbox.motion import MotionSpec, frame_size, render_motion
from reelhouse.sandbox.music import MusicSpec, render_music
from reelhouse.sandbox.predictions import Protocol
from reelhouse.sandbox.render import (
    ImageSpec,
    ProgressCallback,
    Rendered,
    StopCheck,
    VideoSpec,
    render_image,
    render_video,
)

MAX_SEED = 2**32 - 1
MAX_SIZE_MB = 8192
# a data: URI of the largest image the fetch accepts (20 MiB, base64) fits
MAX_IMAGE_URI_CHARS = 28_000_000
BLACK_START_SECONDS = 1.0
SANDBOX_PREFIX = "sandbox_"


class SandboxInput(BaseModel):
    """Inputs every sandbox model accepts; ``sandbox_*`` steer the simulation, not the output.

    Other unknown fields are ignored (as a real model would), but an unknown ``sandbox_*``
    field is rejected so that a typo in a fault name cannot pass silently.
    """

    model_config = ConfigDict(extra="ignore")

    sandbox_fault: str | list[str] | None = None
    sandbox_delay: float | None = Field(default=None, ge=0, le=3600)
    sandbox_expire_after: float = Field(default=1.0, gt=0, le=86400)

    @model_validator(mode="before")
    @classmethod
    def _known_sandbox_fields(cls, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(
                key
                for key in data
                if isinstance(key, str)
                and key.startswith(SANDBOX_PREFIX)
                and key not in cls.model_fields
            )
            if unknown:
                raise ValueError(f"unknown sandbox option(s): {', '.join(unknown)}")
        return data

    def fault_names(self) -> list[str]:
        """``sandbox_fault`` as a list: one name, a comma-separated string, or a list."""
        raw = self.sandbox_fault
        items = [raw] if isinstance(raw, str) else list(raw or [])
        return [name.strip() for item in items for name in item.split(",") if name.strip()]

    def fault_params(self) -> FaultParams:
        return FaultParams(expire_after_seconds=self.sandbox_expire_after)


def _even(value: int) -> int:
    if value % 2:
        raise ValueError("must be an even number (H.264 with yuv420p needs even sizes)")
    return value


EvenSize = Annotated[int, Field(ge=64, le=1920), AfterValidator(_even)]


class TextToVideoInput(SandboxInput):
    prompt: str = Field(min_length=1, max_length=2000)
    duration: float = Field(default=3.0, ge=1, le=10)
    width: EvenSize = 640
    height: EvenSize = 360
    fps: int = Field(default=24, ge=1, le=60)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)
    # grow the output to about this many MB (10^6 bytes), still valid media: for benchmarks
    size_mb: float | None = Field(default=None, gt=0, le=MAX_SIZE_MB)


class TextToImageInput(SandboxInput):
    prompt: str = Field(min_length=1, max_length=2000)
    width: int = Field(default=640, ge=64, le=1920)
    height: int = Field(default=360, ge=64, le=1920)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)


class InstantVideoInput(SandboxInput):
    """The instant model takes a prompt and nothing else that changes its output."""

    prompt: str = Field(min_length=1, max_length=2000)


class TextToMusicInput(SandboxInput):
    prompt: str = Field(min_length=1, max_length=2000)
    duration: int = Field(default=10, ge=1, le=300)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)


def _fetchable(value: str) -> str:
    scheme = value.partition(":")[0].lower()
    if scheme not in URL_SCHEMES or (scheme != "data" and "//" not in value):
        raise ValueError("must be an http(s) URL or a data: URI")
    return value


class ImageToVideoInput(SandboxInput):
    """Like Replicate's image-to-video models: ``image`` required, ``prompt`` optional."""

    # an http(s) URL the sandbox downloads when the prediction starts, or a data: URI
    image: Annotated[
        str, Field(min_length=1, max_length=MAX_IMAGE_URI_CHARS), AfterValidator(_fetchable)
    ]
    prompt: str = Field(default="", max_length=2000)
    duration: float = Field(default=3.0, ge=1, le=10)
    # unset: the image's aspect ratio, 640 pixels on the long side
    width: EvenSize | None = None
    height: EvenSize | None = None
    fps: int = Field(default=24, ge=1, le=60)
    seed: int | None = Field(default=None, ge=0, le=MAX_SEED)


RenderCall = Callable[[Path, ProgressCallback, StopCheck], Rendered]


@dataclass(frozen=True, slots=True)
class RenderJob:
    """One render, ready to run in a worker thread."""

    output_name: str
    description: tuple[str, ...]
    run: RenderCall


def _seed(value: int | None) -> int:
    return value if value is not None else random.randint(0, MAX_SEED)  # noqa: S311 (not crypto)


def with_seed(params: SandboxInput) -> SandboxInput:
    """``params`` with a concrete ``seed``, drawn now when the input left it open.

    The prediction keeps it, so a render redone after a restart draws the same picture.
    """
    if "seed" in type(params).model_fields and getattr(params, "seed", None) is None:
        return params.model_copy(update={"seed": _seed(None)})
    return params


def seed_of(params: SandboxInput) -> int | None:
    seed = getattr(params, "seed", None)
    return seed if isinstance(seed, int) else None


def _video_job(params: SandboxInput) -> RenderJob:
    assert isinstance(params, TextToVideoInput)
    plan = plan_faults(params.fault_names(), params.fault_params())
    spec = VideoSpec(
        prompt=params.prompt,
        duration=params.duration,
        width=params.width,
        height=params.height,
        fps=params.fps,
        seed=_seed(params.seed),
        faststart=not plan.render_moov_at_end,
        black_seconds=BLACK_START_SECONDS if plan.render_black_start else 0.0,
        pad_to_bytes=None if params.size_mb is None else round(params.size_mb * 1_000_000),
    )

    def run(target: Path, progress: ProgressCallback, should_stop: StopCheck) -> Rendered:
        return render_video(spec, target, progress=progress, should_stop=should_stop)

    return RenderJob(
        output_name="output.mp4",
        description=(
            f"Using seed: {spec.seed}",
            f"Rendering {spec.duration:g} s of {spec.width}x{spec.height} video at {spec.fps} fps",
        ),
        run=run,
    )


def _image_to_video_job(params: SandboxInput) -> RenderJob:
    assert isinstance(params, ImageToVideoInput)
    seed = _seed(params.seed)
    fetcher = Fetcher()

    def run(target: Path, progress: ProgressCallback, should_stop: StopCheck) -> Rendered:
        data = fetcher.fetch(params.image, field="image", should_stop=should_stop)
        source = decode_image(data, field="image")
        width, height = frame_size(source.size, params.width, params.height)
        spec = MotionSpec(
            caption=params.prompt,
            duration=params.duration,
            width=width,
            height=height,
            fps=params.fps,
            seed=seed,
        )
        return render_motion(source, spec, target, progress=progress, should_stop=should_stop)

    return RenderJob(
        output_name="output.mp4",
        description=(
            f"Using seed: {seed}",
            "Downloading the input image",
            f"Rendering {params.duration:g} s of a slow zoom over it at {params.fps} fps",
        ),
        run=run,
    )


def _image_job(params: SandboxInput) -> RenderJob:
    assert isinstance(params, TextToImageInput)
    spec = ImageSpec(
        prompt=params.prompt, width=params.width, height=params.height, seed=_seed(params.seed)
    )

    def run(target: Path, progress: ProgressCallback, should_stop: StopCheck) -> Rendered:
        return render_image(spec, target, progress=progress, should_stop=should_stop)

    return RenderJob(
        output_name="output.png",
        description=(f"Using seed: {spec.seed}", f"Drawing a {spec.width}x{spec.height} image"),
        run=run,
    )


def _music_job(params: SandboxInput) -> RenderJob:
    assert isinstance(params, TextToMusicInput)
    plan = plan_faults(params.fault_names(), params.fault_params())
    spec = MusicSpec(
        prompt=params.prompt,
        duration=params.duration,
        seed=_seed(params.seed),
        faststart=not plan.render_moov_at_end,
    )

    def run(target: Path, progress: ProgressCallback, should_stop: StopCheck) -> Rendered:
        return render_music(spec, target, progress=progress, should_stop=should_stop)

    return RenderJob(
        output_name="output.m4a",
        description=(f"Using seed: {spec.seed}", f"Composing {spec.duration:g} s of music"),
        run=run,
    )


def _instant_job(params: SandboxInput) -> RenderJob:
    assert isinstance(params, InstantVideoInput)
    return RenderJob(
        output_name="output.mp4",
        description=(
            f"Serving the ready-made {CLIP.duration:g} s {CLIP.width}x{CLIP.height} clip",
        ),
        run=write_clip,
    )


@dataclass(frozen=True, slots=True)
class ModelSpec:
    owner: str
    name: str
    description: str
    input_model: type[SandboxInput]
    build_job: Callable[[SandboxInput], RenderJob]
    # the wire protocol that offers it
    protocol: Protocol = "replicate"
    # no queue and no render time, whatever the server's ``queue_seconds``/``render_seconds``
    instant: bool = False

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.name}"

    def rebuild_job(self, raw_input: dict[str, Any], seed: int | None) -> RenderJob:
        """The render of a prediction created earlier, from its input and its drawn seed."""
        data = raw_input if seed is None else {**raw_input, "seed": seed}
        return self.build_job(self.input_model.model_validate(data))

    @property
    def version_id(self) -> str:
        """A stable 64-hex id, shaped like a Replicate version id."""
        return hashlib.sha256(self.ref.encode()).hexdigest()

    def openapi_schema(self) -> dict[str, Any]:
        return {
            "openapi": "3.0.2",
            "info": {"title": self.ref, "version": self.version_id},
            "components": {
                "schemas": {
                    "Input": self.input_model.model_json_schema(),
                    "Output": {"type": "array", "items": {"type": "string", "format": "uri"}},
                }
            },
        }


VIDEO_DESCRIPTION = "A short H.264/AAC MP4 showing the prompt over moving colours."
IMAGE_DESCRIPTION = "A PNG showing the prompt over a colour wave."
IMAGE_TO_VIDEO_DESCRIPTION = (
    "A short H.264/AAC MP4: a slow zoom over the input image, the prompt as a caption."
)
MUSIC_DESCRIPTION = "A tune of the requested length (AAC in an M4A file), chosen by the prompt."
INSTANT_DESCRIPTION = (
    "The same ready-made 1 s H.264/AAC MP4 at once, no queue or render time: for benchmarks."
)

# the same models under both protocols: ``sandbox/…`` over Replicate's, ``sandbox-fal/…`` over fal's
OFFERS: tuple[tuple[str, Protocol], ...] = (("sandbox", "replicate"), ("sandbox-fal", "fal"))

MODELS: dict[str, ModelSpec] = {
    spec.ref: spec
    for owner, protocol in OFFERS
    for spec in (
        ModelSpec(
            owner=owner,
            name="text-to-video",
            description=VIDEO_DESCRIPTION,
            input_model=TextToVideoInput,
            build_job=_video_job,
            protocol=protocol,
        ),
        ModelSpec(
            owner=owner,
            name="text-to-image",
            description=IMAGE_DESCRIPTION,
            input_model=TextToImageInput,
            build_job=_image_job,
            protocol=protocol,
        ),
        ModelSpec(
            owner=owner,
            name="image-to-video",
            description=IMAGE_TO_VIDEO_DESCRIPTION,
            input_model=ImageToVideoInput,
            build_job=_image_to_video_job,
            protocol=protocol,
        ),
        ModelSpec(
            owner=owner,
            name="text-to-music",
            description=MUSIC_DESCRIPTION,
            input_model=TextToMusicInput,
            build_job=_music_job,
            protocol=protocol,
        ),
        ModelSpec(
            owner=owner,
            name="instant-video",
            description=INSTANT_DESCRIPTION,
            input_model=InstantVideoInput,
            build_job=_instant_job,
            protocol=protocol,
            instant=True,
        ),
    )
}


def find_model(ref: str, protocol: Protocol | None = None) -> ModelSpec | None:
    """The model ``owner/name``; with ``protocol``, only if that protocol offers it."""
    spec = MODELS.get(ref)
    if spec is None or (protocol is not None and spec.protocol != protocol):
        return None
    return spec


def find_version(version: str) -> ModelSpec | None:
    """Resolve the ``version`` of ``POST /v1/predictions``: an id, ``owner/name[:id]``."""
    replicate = {ref: spec for ref, spec in MODELS.items() if spec.protocol == "replicate"}
    ref, _, version_id = version.partition(":")
    if "/" in ref:
        spec = replicate.get(ref)
        return spec if spec and version_id in ("", spec.version_id) else None
    return next((spec for spec in replicate.values() if spec.version_id == version), None)
