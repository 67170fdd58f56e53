"""Accepting a composition: every part checked, then the composition and its jobs in one commit.

Each scene (and a generated score) is an ordinary generation job (``jobs/service.py``):
its own row, first event and outbox row, so the pipeline runs it like any other. The
composition row ties them together. A part that does not fit its model is a 422 naming the
field from the request's root (``scenes.1.input.prompt``); nothing is written.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.events import utcnow
from reelhouse.common.logging import job_context
from reelhouse.gateway.auth.principal import Principal
from reelhouse.gateway.catalog.loader import Catalog
from reelhouse.gateway.compositions import repository
from reelhouse.gateway.compositions.ids import (
    AUDIO_PART,
    CompositionStatus,
    new_composition_id,
)
from reelhouse.gateway.compositions.schemas import (
    CompositionCreate,
    GeneratedScore,
    SceneCreate,
    UploadedTrack,
)
from reelhouse.gateway.costs.budget import ensure_within_budget
from reelhouse.gateway.costs.settings import CostSettings
from reelhouse.gateway.db.models import Composition
from reelhouse.gateway.jobs.deadlines import DeadlineLimits
from reelhouse.gateway.jobs.service import PlannedJob, plan_generation, write_planned
from reelhouse.gateway.metrics import observe_accepted
from reelhouse.gateway.problems import FieldError, ProblemError
from reelhouse.gateway.uploads import repository as uploads
from reelhouse.gateway.uploads.references import PREFIX as UPLOAD_PREFIX
from reelhouse.gateway.uploads.service import is_upload_id
from reelhouse.gateway.webhooks.subscription import WebhookSubscription

log = structlog.get_logger(__name__)

BeforeCommit = Callable[[Composition], Awaitable[None]]


def _prefixed(exc: ProblemError, prefix: str) -> ProblemError:
    """The same problem with its field paths dotted from the request's root."""
    errors = [
        FieldError(path=f"{prefix}.{error.path}", message=error.message)
        for error in exc.errors or []
    ]
    return ProblemError(exc.code, exc.detail, errors=errors or None, headers=exc.headers)


async def _plan_part(
    *,
    session: AsyncSession,
    catalog: Catalog,
    owner_id: str,
    model_id: str,
    input_: dict[str, Any],
    want: str,
    path: str,
    deadlines: DeadlineLimits,
    deadline_seconds: int | None,
    now: datetime,
) -> PlannedJob:
    try:
        planned = await plan_generation(
            session=session,
            catalog=catalog,
            owner_id=owner_id,
            model_id=model_id,
            input_=input_,
            deadlines=deadlines,
            deadline_seconds=deadline_seconds,
            now=now,
        )
    except ProblemError as exc:
        raise _prefixed(exc, path) from exc
    if planned.model.output != want:
        raise ProblemError(
            "validation_error",
            f"{model_id!r} makes {planned.model.output}, not {want}.",
            errors=[FieldError(path=f"{path}.model", message=f"not a model that makes {want}")],
        )
    return planned


def _scene_input(catalog: Catalog, scene: SceneCreate, index: int) -> dict[str, Any]:
    """The scene's input with its target ``duration`` set as the model's input."""
    input_ = dict(scene.input)
    if scene.duration is None:
        return input_
    model = catalog.get(scene.model)
    properties = model.input_schema.get("properties", {}) if model is not None else {}
    path = f"scenes.{index}.duration"
    if model is not None and "duration" not in properties:
        raise ProblemError(
            "validation_error",
            f"{scene.model!r} takes no duration; leave `duration` out for this scene.",
            errors=[FieldError(path=path, message="the model takes no duration")],
        )
    if "duration" in input_ and input_["duration"] != scene.duration:
        raise ProblemError(
            "validation_error",
            "The scene's `duration` and its `input.duration` disagree.",
            errors=[FieldError(path=path, message="differs from input.duration")],
        )
    input_["duration"] = scene.duration
    return input_


def film_seconds(scenes: list[PlannedJob], crossfade: float) -> float | None:
    """The film's expected length from the scenes' ``duration`` inputs (None: not all say)."""
    lengths = [p.values["input"].get("duration") for p in scenes]
    if not all(isinstance(n, int | float) and n > 0 for n in lengths):
        return None
    return float(sum(lengths)) - crossfade * (len(lengths) - 1)


def _score_input(catalog: Catalog, score: GeneratedScore, seconds: float | None) -> dict[str, Any]:
    """The score's input: its prompt, and a duration covering the film where the model has one."""
    input_: dict[str, Any] = {"prompt": score.prompt}
    model = catalog.get(score.model)
    spec = model.input_schema.get("properties", {}).get("duration") if model else None
    if isinstance(spec, dict) and seconds is not None:
        wanted = math.ceil(seconds)
        lowest, highest = spec.get("minimum"), spec.get("maximum")
        if isinstance(highest, int | float):
            wanted = min(wanted, int(highest))
        if isinstance(lowest, int | float):
            wanted = max(wanted, math.ceil(lowest))
        input_["duration"] = wanted
    return input_


async def _uploaded_track(
    session: AsyncSession, owner_id: str, track: UploadedTrack, now: datetime
) -> dict[str, Any]:
    reference = track.upload
    upload_id = reference[len(UPLOAD_PREFIX) :] if reference.startswith(UPLOAD_PREFIX) else ""
    upload = (
        await uploads.get_upload(session, owner_id=owner_id, upload_id=upload_id)
        if is_upload_id(upload_id)
        else None
    )
    if upload is None or upload.kind != "audio":
        message = "no such upload" if upload is None else f"a {upload.kind} upload, not audio"
        raise ProblemError(
            "validation_error",
            f"The audio track must be an audio upload of this key's owner ({reference!r}).",
            errors=[FieldError(path="audio.upload", message=message)],
        )
    await uploads.mark_used(session, owner_id=owner_id, upload_id=upload.id, now=now)
    return {
        "source": "upload",
        "upload_id": upload.id,
        "key": upload.object_key,
        "content_type": upload.content_type,
        "duration": upload.duration,
    }


async def submit_composition(
    *,
    session: AsyncSession,
    catalog: Catalog,
    owner: Principal,
    request: CompositionCreate,
    deadlines: DeadlineLimits,
    before_commit: BeforeCommit | None = None,
    webhook: WebhookSubscription | None = None,
    held: bool = False,
    costs: CostSettings | None = None,
) -> Composition:
    """Check every part, then write the composition and its jobs; commit once."""
    now = utcnow()
    owner_id = owner.owner_id
    scenes = [
        await _plan_part(
            session=session,
            catalog=catalog,
            owner_id=owner_id,
            model_id=scene.model,
            input_=_scene_input(catalog, scene, index),
            want="video",
            path=f"scenes.{index}",
            deadlines=deadlines,
            deadline_seconds=request.deadline_seconds,
            now=now,
        )
        for index, scene in enumerate(request.scenes)
    ]
    crossfade = request.transition.seconds if request.transition.type == "crossfade" else 0.0
    score: PlannedJob | None = None
    audio: dict[str, Any] | None = None
    if isinstance(request.audio, GeneratedScore):
        score = await _plan_part(
            session=session,
            catalog=catalog,
            owner_id=owner_id,
            model_id=request.audio.model,
            input_=_score_input(catalog, request.audio, film_seconds(scenes, crossfade)),
            want="audio",
            path="audio",
            deadlines=deadlines,
            deadline_seconds=request.deadline_seconds,
            now=now,
        )
        audio = {"source": "generated"}
    elif isinstance(request.audio, UploadedTrack):
        audio = await _uploaded_track(session, owner_id, request.audio, now)
    parts: list[tuple[int, PlannedJob]] = list(enumerate(scenes))
    if score is not None:
        parts.append((AUDIO_PART, score))
    if costs is not None:
        estimates = [p.estimate_usd for _, p in parts]
        known = [e for e in estimates if e is not None]
        total = sum(known) if known else None
        await ensure_within_budget(session, costs, owner_id=owner_id, estimate_usd=total, now=now)
    composition = Composition(
        id=new_composition_id(),
        owner_id=owner_id,
        status=CompositionStatus.GENERATING.value,
        policy=request.policy.value,
        scene_count=len(scenes),
        spec={
            "transition": request.transition.model_dump(mode="json"),
            "output": {"width": request.width, "height": request.height, "fps": request.fps},
            "audio": audio,
        },
        assembly=0,
        missing=[],
        error=None,
        error_code=None,
        outputs=[],
        assembly_method=None,
        created_at=now,
        updated_at=now,
        cancel_requested_at=None,
        webhook_url=webhook.url if webhook else None,
        webhook_events=list(webhook.events) if webhook else None,
    )
    repository.add(session, composition)
    for part, planned in parts:
        planned.values["composition_id"] = composition.id
        planned.values["composition_part"] = part
        await write_planned(session, planned, held_for=owner_id if held else None, now=now)
    if before_commit is not None:
        await before_commit(composition)
    await session.commit()
    for _, planned in parts:
        observe_accepted(planned.model.id)
    with job_context(composition.id):
        log.info(
            "composition.accepted",
            owner_id=owner_id,
            scenes=len(scenes),
            jobs=[planned.values["id"] for _, planned in parts],
            audio=audio["source"] if audio else None,
            policy=composition.policy,
        )
    return composition
