"""A composition follows its parts: called in the projector's transaction when one settles.

The composition row is locked, so parts settling at the same moment in several projectors
decide one after the other, each seeing the others' committed states.

- ``fail_fast``: a failed part fails the composition with that part's reason (a part canceled
  by its owner cancels it); the parts still running are told to cancel.
- ``best_effort``: nothing happens until every part settled.
- Every part settled: ``composition.ready.v1`` asks the assembler for the film, made of the
  scenes that succeeded (none: failed, ``no_scene_succeeded``).

Cancels of the other parts go out as outbox rows only (``{job}:cancel:composition``): their
job rows are not written here, since another projector may hold one of them locked while it
waits for this composition's lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from reelhouse.common.composition_events import (
    AudioBed,
    CompositionReady,
    OutputFormat,
    SceneClip,
    Transition,
)
from reelhouse.common.events import Asset, CancelRequested, JobError
from reelhouse.common.jobstate import JobStatus, is_final
from reelhouse.common.logging import job_context
from reelhouse.gateway.compositions import repository
from reelhouse.gateway.compositions.ids import (
    AUDIO_PART,
    CompositionStatus,
    Policy,
    film_key,
    poster_key,
)
from reelhouse.gateway.db.models import Composition, Job, JobOutput
from reelhouse.gateway.outbox import repository as outbox

log = structlog.get_logger(__name__)


def cascade_cancel_id(job_id: str) -> str:
    return f"{job_id}:cancel:composition"


def ready_event_id(composition_id: str, assembly: int) -> str:
    return f"{composition_id}:ready:{assembly}"


def cancel_parts(
    session: AsyncSession, composition: Composition, parts: Sequence[Job], now: datetime
) -> list[str]:
    """Queue a cancel for every part still running; their ids."""
    running = [p for p in parts if not is_final(JobStatus(p.status))]
    for part in running:
        outbox.add(
            session,
            CancelRequested(
                event_id=cascade_cancel_id(part.id),
                job_id=part.id,
                occurred_at=now,
                owner_id=composition.owner_id,
            ),
            now=now,
        )
    return [p.id for p in running]


@dataclass(frozen=True, slots=True)
class PartSettled:
    """What a part settling did to its composition, still generating until then.

    ``moved_to``: the status it moved to (None: it waits for its other parts).
    """

    composition: Composition
    moved_to: CompositionStatus | None


def _asset(output: JobOutput) -> Asset:
    """A stored output row as the event's ``Asset`` (the row holds every field of one)."""
    return Asset.model_validate(output, from_attributes=True)


def _fail(composition: Composition, error: dict[str, Any], now: datetime) -> None:
    composition.status = CompositionStatus.FAILED.value
    composition.error = error
    composition.error_code = str(error.get("code", ""))[:64]
    composition.updated_at = now


async def on_part_settled(
    session: AsyncSession, job: Job, *, assets: Sequence[Asset], now: datetime
) -> PartSettled | None:
    """``job`` (a part of a composition) just reached a final state in this transaction.

    None when the composition had ended already (the part's end changes nothing).
    """
    assert job.composition_id is not None
    composition = await repository.lock(session, job.composition_id)
    if composition is None or composition.status != CompositionStatus.GENERATING.value:
        return None  # canceled or failed already: the part's end changes nothing
    parts = {p.id: p for p in await repository.current_parts(session, composition.id)}
    parts[job.id] = job
    status = JobStatus(job.status)
    with job_context(composition.id, part_job_id=job.id, part=job.composition_part):
        if composition.policy == Policy.FAIL_FAST.value and status is not JobStatus.SUCCEEDED:
            _stop_on(session, composition, job, list(parts.values()), now)
        elif all(is_final(JobStatus(p.status)) for p in parts.values()):
            await request_film(
                session, composition, list(parts.values()), assets=assets, job=job, now=now
            )
    moved = CompositionStatus(composition.status)
    return PartSettled(
        composition=composition,
        moved_to=moved if moved is not CompositionStatus.GENERATING else None,
    )


def _stop_on(
    session: AsyncSession,
    composition: Composition,
    job: Job,
    parts: list[Job],
    now: datetime,
) -> None:
    """fail_fast: the composition ends with ``job``'s failure (or cancel); the rest cancel."""
    scene = job.composition_part if job.composition_part != AUDIO_PART else None
    if job.status == JobStatus.CANCELED.value:
        composition.status = CompositionStatus.CANCELED.value
        composition.updated_at = now
    else:
        error = dict(job.error or {})
        what = f"scene {scene}" if scene is not None else "the score"
        error["message"] = f"{what} failed: {error.get('message', 'no reason given')}"
        error["scene"] = scene
        _fail(composition, error, now)
    canceled = cancel_parts(session, composition, [p for p in parts if p.id != job.id], now)
    log.info(
        "composition.stopped",
        status=composition.status,
        code=composition.error_code,
        canceled=canceled,
    )


async def request_film(
    session: AsyncSession,
    composition: Composition,
    parts: list[Job],
    *,
    assets: Sequence[Asset],
    job: Job | None,
    now: datetime,
) -> None:
    """Every part settled: queue ``composition.ready.v1`` (or fail: no scene succeeded).

    ``job``: the part that settled in this transaction, with its stored ``assets`` (None on
    a retry that only assembles again).
    """
    succeeded = [p for p in parts if p.status == JobStatus.SUCCEEDED.value]
    settling = job.id if job is not None else None
    stored = await repository.first_outputs(session, [p.id for p in succeeded if p.id != settling])
    firsts: dict[str, Asset] = {job_id: _asset(output) for job_id, output in stored.items()}
    if job is not None and job.status == JobStatus.SUCCEEDED.value and assets:
        firsts[job.id] = next((a for a in assets if a.index == 0), assets[0])
    scenes = sorted(
        (
            SceneClip(index=p.composition_part or 0, job_id=p.id, asset=firsts[p.id])
            for p in succeeded
            if p.composition_part != AUDIO_PART and p.id in firsts
        ),
        key=lambda clip: clip.index,
    )
    present = {clip.index for clip in scenes}
    missing = [i for i in range(composition.scene_count) if i not in present]
    if not scenes:
        _fail(
            composition,
            JobError(
                stage="gateway",
                code="no_scene_succeeded",
                message=f"None of the {composition.scene_count} scenes succeeded.",
            ).model_dump(mode="json")
            | {"scene": None},
            now,
        )
        log.info("composition.failed", code="no_scene_succeeded")
        return
    audio = _audio_bed(composition, parts, firsts)
    composition.assembly += 1
    composition.missing = missing
    composition.status = CompositionStatus.ASSEMBLING.value
    composition.updated_at = now
    spec = composition.spec
    event = CompositionReady(
        event_id=ready_event_id(composition.id, composition.assembly),
        job_id=composition.id,
        occurred_at=now,
        owner_id=composition.owner_id,
        assembly=composition.assembly,
        scenes=scenes,
        missing=missing,
        audio=audio,
        transition=Transition.model_validate(spec["transition"]),
        output=OutputFormat.model_validate(spec["output"]),
        key=film_key(composition.id),
        poster_key=poster_key(composition.id),
    )
    outbox.add(session, event, now=now)
    log.info(
        "composition.assembly_requested",
        assembly=composition.assembly,
        scenes=len(scenes),
        missing=missing,
        audio=audio.source if audio else None,
    )


def _audio_bed(
    composition: Composition, parts: list[Job], firsts: dict[str, Asset]
) -> AudioBed | None:
    spec = composition.spec.get("audio")
    if not spec:
        return None
    if spec.get("source") == "upload":
        return AudioBed(
            source="upload",
            key=spec["key"],
            content_type=spec["content_type"],
            duration=spec.get("duration"),
            reference=spec["upload_id"],
        )
    score = next((p for p in parts if p.composition_part == AUDIO_PART), None)
    asset = firsts.get(score.id) if score is not None else None
    if score is None or asset is None:
        return None  # the score failed (best_effort): the film has no track
    return AudioBed(
        source="generated",
        key=asset.key,
        content_type=asset.content_type,
        duration=asset.duration,
        reference=score.id,
    )
