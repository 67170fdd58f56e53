"""Applying an event's cost facts to a job (called by the projector, in its transaction).

Provider usage (``usage`` on output, attempt-failed, failed and canceled events) is summed
over the job's attempts; stored outputs give the seconds of video or audio and the images; the
actual cost is then worked out again from everything known (``pricing.actual_usd``).
Events are recorded once per id, so a redelivered event never counts twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from reelhouse.common.events import (
    Asset,
    Event,
    GenerationAttemptFailed,
    GenerationCanceled,
    GenerationFailed,
    GenerationOutputReady,
    ProviderUsage,
)
from reelhouse.common.jobstate import JobStatus, is_final
from reelhouse.gateway.catalog.entries import PriceUnit
from reelhouse.gateway.costs.pricing import CostFacts, actual_usd
from reelhouse.gateway.db.models import Job
from reelhouse.gateway.jobs.attempts import Attempt


def usage_of(event: Event) -> ProviderUsage | None:
    if isinstance(
        event,
        GenerationOutputReady | GenerationAttemptFailed | GenerationFailed | GenerationCanceled,
    ):
        return event.usage
    return None


def _plus(total: float | None, more: float | None) -> float | None:
    if more is None:
        return total
    return more if total is None else total + more


def _record_outputs(job: Job, assets: Sequence[Asset]) -> None:
    timed = [a for a in assets if a.kind in ("video", "audio")]
    seconds = [a.duration for a in timed if a.duration is not None]
    job.output_seconds = round(sum(seconds), 3) if seconds else None
    job.output_images = sum(1 for a in assets if a.kind == "image")


def accrue(job: Job, event: Event, *, assets: Sequence[Asset], attempts: Sequence[Attempt]) -> None:
    """Record ``event``'s usage and outputs on ``job`` and work out its actual cost again."""
    usage = usage_of(event)
    if usage is not None:
        job.predict_time_seconds = _plus(job.predict_time_seconds, usage.predict_time_seconds)
        job.billed_units = _plus(job.billed_units, usage.billed_units)
    if usage is not None or isinstance(event, GenerationOutputReady):
        job.provider_runs = (job.provider_runs or 0) + 1
    if assets:
        _record_outputs(job, assets)
    actual = actual_usd(
        CostFacts(
            basis=_basis(job.cost_basis),
            unit_usd=job.cost_unit_usd,
            final=is_final(JobStatus(job.status)),
            provider_worked=any(a.provider_request_id is not None for a in attempts),
            redownload=any(a.redownload_of is not None for a in attempts),
            predict_time_seconds=job.predict_time_seconds,
            billed_units=job.billed_units,
            provider_runs=job.provider_runs or 0,
            output_seconds=job.output_seconds,
            output_images=job.output_images,
        )
    )
    if actual != job.cost_actual_usd:  # most events change nothing: no write for them
        job.cost_actual_usd = actual


def _basis(value: str) -> PriceUnit:
    match value:
        case "second" | "image" | "run" | "prediction_second":
            return value
        case _:
            return "run"
