"""Jobs as the API shows them: signed media URLs minted on every read, never provider URLs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from reelhouse.common.jobstate import JobStatus
from reelhouse.gateway.catalog.entries import PriceUnit
from reelhouse.gateway.costs.schemas import CostOut
from reelhouse.gateway.db.models import Job, JobEvent, JobOutput
from reelhouse.gateway.jobs.attempts import Attempt, load_attempts
from reelhouse.gateway.jobs.schemas import (
    AttemptOut,
    Generation,
    GenerationEventOut,
    GenerationLinks,
    JobErrorOut,
    OutputKind,
    OutputOut,
)
from reelhouse.gateway.jobs.service import JobWithOutputs
from reelhouse.gateway.media_urls import MediaUrls

LinksFor = Callable[[str], GenerationLinks]


def links_under(base_url: str) -> LinksFor:
    """A job's links under the gateway's address (a request's base URL, or the public one)."""
    base = base_url.rstrip("/")

    def links(job_id: str) -> GenerationLinks:
        job_url = f"{base}/v1/generations/{job_id}"
        return GenerationLinks.model_validate(
            {
                "self": job_url,
                "events": f"{job_url}/events",
                "cancel": f"{job_url}/cancel",
                "retry": f"{job_url}/retry",
            }
        )

    return links


# the fields of each event the API shows; provider output URLs stay internal
_PUBLIC_FIELDS: dict[str, tuple[str, ...]] = {
    "gen.requested.v1": ("model", "deadline_seconds"),
    "gen.cancel.v1": (),
    "gen.submitted.v1": ("provider", "provider_request_id"),
    "gen.progress.v1": ("provider_status", "running", "queue_position", "percent", "logs"),
    # ``redownload_of``: recorded by a retry that fetches an earlier job's output again
    "gen.output.v1": ("provider", "redownload_of", "usage"),
    "gen.attempt_failed.v1": (
        "attempt",
        "provider",
        "provider_request_id",
        "error",
        "next_provider",
        "usage",
    ),
    "gen.failed.v1": ("error", "usage"),
    "gen.canceled.v1": ("reason", "usage"),
}


def output_view(output: JobOutput, media_urls: MediaUrls) -> OutputOut:
    return OutputOut(
        index=output.index,
        kind=cast(OutputKind, output.kind),  # the column only ever holds an Asset.kind
        url=media_urls.url_for(output.key),
        content_type=output.content_type,
        size=output.size,
        sha256=output.sha256,
        duration=output.duration,
        width=output.width,
        height=output.height,
        fps=output.fps,
        video_codec=output.video_codec,
        audio_codec=output.audio_codec,
        bit_rate=output.bit_rate,
        poster_url=media_urls.url_for(output.poster_key) if output.poster_key else None,
    )


def attempt_view(attempt: Attempt) -> AttemptOut:
    return AttemptOut(
        provider=attempt.provider,
        provider_request_id=attempt.provider_request_id,
        status=attempt.status,
        error=JobErrorOut.model_validate(attempt.error.model_dump()) if attempt.error else None,
        redownload_of=attempt.redownload_of,
    )


def cost_view(job: Job) -> CostOut:
    return CostOut(
        estimate_usd=job.cost_estimate_usd,
        actual_usd=job.cost_actual_usd,
        # the column only ever holds a PriceUnit ("run" by default on rows made without one)
        basis=cast(PriceUnit, job.cost_basis or "run"),
        unit_usd=job.cost_unit_usd,
        simulated=bool(job.cost_simulated),
    )


def generation_view(item: JobWithOutputs, *, media_urls: MediaUrls, links: LinksFor) -> Generation:
    job = item.job
    status = JobStatus(job.status)
    # outputs belong to a succeeded job only: a canceled (or failed) job never shows any
    outputs = item.outputs if status is JobStatus.SUCCEEDED else []
    return Generation(
        id=job.id,
        status=status,
        model=job.model,
        input=job.input,
        error=JobErrorOut.model_validate(job.error) if job.error else None,
        outputs=[output_view(output, media_urls) for output in outputs],
        attempts=[attempt_view(attempt) for attempt in load_attempts(job.attempts)],
        cancel_requested=job.cancel_requested_at is not None,
        cancel_requested_at=job.cancel_requested_at,
        deadline_seconds=job.deadline_seconds,
        start_deadline_seconds=job.start_deadline_seconds,
        created_at=job.created_at,
        updated_at=job.updated_at,
        webhook_url=job.webhook_url,
        webhook_events=job.webhook_events,
        retry_of=job.retry_of,
        retried_by=job.retried_by,
        cost=cost_view(job),
        composition_id=job.composition_id,
        links=links(job.id),
    )


def public_event_data(subject: str, payload: dict[str, Any]) -> dict[str, Any]:
    data = {name: payload[name] for name in _PUBLIC_FIELDS.get(subject, ()) if name in payload}
    if data.get("usage", "") is None:  # shown only when the provider reported some
        del data["usage"]
    if subject == "gen.stored.v1":
        data["outputs"] = len(payload.get("assets", []))
    elif subject == "gen.output.v1":
        data["outputs"] = len(payload.get("outputs", []))
    return data


def event_view(event: JobEvent) -> GenerationEventOut:
    return GenerationEventOut(
        id=event.event_id,
        type=event.type,
        status=JobStatus(event.status) if event.status else None,
        occurred_at=event.occurred_at,
        recorded_at=event.recorded_at,
        data=public_event_data(event.subject, event.payload),
    )
