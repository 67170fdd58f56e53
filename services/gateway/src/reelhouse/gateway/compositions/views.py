"""Compositions as the API shows them: their parts, progress, cost and the film (signed URL)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from reelhouse.common.composition_events import Transition
from reelhouse.common.jobstate import JobStatus, is_final
from reelhouse.gateway.compositions.ids import AUDIO_PART, CompositionStatus, Policy
from reelhouse.gateway.compositions.schemas import (
    AudioOut,
    Composition,
    CompositionCostOut,
    CompositionErrorOut,
    CompositionLinks,
    OutputFormatOut,
    PartOut,
    ProgressOut,
    SceneOut,
    UnknownCostPart,
)
from reelhouse.gateway.db.models import Composition as CompositionRow
from reelhouse.gateway.db.models import Job, JobOutput
from reelhouse.gateway.jobs.schemas import JobErrorOut
from reelhouse.gateway.jobs.views import output_view
from reelhouse.gateway.media_urls import MediaUrls

CompositionLinksFor = Callable[[str], CompositionLinks]
# the assembly runs on this deployment's own machines
ASSEMBLY_USD = 0.0


def composition_links_under(base_url: str) -> CompositionLinksFor:
    base = base_url.rstrip("/")

    def links(composition_id: str) -> CompositionLinks:
        url = f"{base}/v1/compositions/{composition_id}"
        return CompositionLinks.model_validate(
            {
                "self": url,
                "events": f"{url}/events",
                "cancel": f"{url}/cancel",
                "retry": f"{url}/retry",
            }
        )

    return links


def _part_view(current: Job, earlier: list[Job]) -> dict[str, Any]:
    return {
        "job_id": current.id,
        "model": current.model,
        "status": JobStatus(current.status),
        "error": JobErrorOut.model_validate(current.error) if current.error else None,
        "retries": [job.id for job in earlier],
    }


def _by_part(parts: Sequence[Job]) -> dict[int, tuple[Job, list[Job]]]:
    """Each part's current job (not retried) and its earlier ones, oldest first."""
    grouped: dict[int, list[Job]] = {}
    for job in parts:
        grouped.setdefault(job.composition_part or 0, []).append(job)
    views: dict[int, tuple[Job, list[Job]]] = {}
    for part, jobs in grouped.items():
        current = next((j for j in jobs if j.retried_by is None), jobs[-1])
        views[part] = (current, [j for j in jobs if j is not current])
    return views


def _cost(parts: Sequence[Job]) -> CompositionCostOut:
    estimates = [job.cost_estimate_usd for job in parts if job.cost_estimate_usd is not None]
    actuals = [job.cost_actual_usd for job in parts if job.cost_actual_usd is not None]
    unknown = [
        UnknownCostPart(
            part="audio" if job.composition_part == AUDIO_PART else "scene",
            index=None if job.composition_part == AUDIO_PART else job.composition_part,
            job_id=job.id,
        )
        for job in parts
        if job.cost_actual_usd is None
    ]
    return CompositionCostOut(
        estimate_usd=round(sum(estimates) + ASSEMBLY_USD, 6) if estimates else None,
        actual_usd=round(sum(actuals) + ASSEMBLY_USD, 6) if actuals else None,
        assembly_usd=ASSEMBLY_USD,
        unknown=unknown,
        simulated=any(job.cost_simulated for job in parts),
    )


def _film(row: CompositionRow, media_urls: MediaUrls) -> list[Any]:
    if row.status != CompositionStatus.SUCCEEDED.value:
        return []
    return [output_view(JobOutput(job_id=row.id, **asset), media_urls) for asset in row.outputs]


def composition_view(
    row: CompositionRow,
    parts: Sequence[Job],
    *,
    media_urls: MediaUrls,
    links: CompositionLinksFor,
) -> Composition:
    by_part = _by_part(parts)
    scenes = [
        SceneOut(index=index, **_part_view(*by_part[index]))
        for index in range(row.scene_count)
        if index in by_part
    ]
    done = [s for s in scenes if is_final(s.status)]
    succeeded = [s for s in done if s.status is JobStatus.SUCCEEDED]
    audio_spec = row.spec.get("audio") or None
    audio: AudioOut | None = None
    missing_audio = False
    if audio_spec is not None:
        score = by_part.get(AUDIO_PART)
        audio = AudioOut(
            source=audio_spec["source"],
            upload_id=audio_spec.get("upload_id"),
            part=PartOut(**_part_view(*score)) if score is not None else None,
        )
        missing_audio = (
            score is not None
            and row.status in (CompositionStatus.ASSEMBLING.value, CompositionStatus.SUCCEEDED)
            and score[0].status != JobStatus.SUCCEEDED.value
        )
    output = row.spec.get("output", {})
    return Composition(
        id=row.id,
        status=CompositionStatus(row.status),
        policy=Policy(row.policy),
        scenes=scenes,
        audio=audio,
        transition=Transition.model_validate(row.spec.get("transition", {})),
        output_format=OutputFormatOut(
            width=output.get("width"), height=output.get("height"), fps=output.get("fps")
        ),
        progress=ProgressOut(
            scenes_total=row.scene_count,
            scenes_done=len(done),
            scenes_succeeded=len(succeeded),
            scenes_failed=len(done) - len(succeeded),
            summary=f"{len(done)} of {row.scene_count} scenes done",
        ),
        outputs=_film(row, media_urls),
        missing_scenes=list(row.missing or []),
        missing_audio=missing_audio,
        assembly_method=row.assembly_method,
        error=CompositionErrorOut.model_validate(row.error) if row.error else None,
        cost=_cost(parts),
        cancel_requested=row.cancel_requested_at is not None,
        created_at=row.created_at,
        updated_at=row.updated_at,
        webhook_url=row.webhook_url,
        webhook_events=row.webhook_events,
        links=links(row.id),
    )
