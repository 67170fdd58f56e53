"""API shapes of costs: a job's ``cost`` and the ``/v1/usage`` report."""

from __future__ import annotations

from pydantic import BaseModel, Field

from reelhouse.gateway.catalog.entries import PriceUnit


class CostOut(BaseModel):
    """What a job costs, in US dollars; None means unknown (never 0 for unknown)."""

    estimate_usd: float | None = Field(
        description="Expected at submit, from the model's price and the input (None: no price, "
        "or the basis cannot be estimated)"
    )
    actual_usd: float | None = Field(
        description="From what the provider reported (compute time, billed units, stored "
        "output); kept on failed and canceled jobs; summed over fallback attempts; 0 when no "
        "provider ever accepted the job; None while or when unknown"
    )
    basis: PriceUnit = Field(
        description="What the price is per: `second` of output, `image`, `run`, or "
        "`prediction_second` of provider compute time"
    )
    unit_usd: float | None = Field(description="The price per unit when the job was made")
    simulated: bool = Field(description="A nominal price of a free model (the sandbox)")


class UsageTotals(BaseModel):
    """Jobs and what they cost."""

    jobs: int = Field(description="Jobs created (any status)")
    video_seconds: float = Field(
        description="Seconds of video (and of audio, from music models) stored by succeeded jobs"
    )
    images: int = Field(description="Images stored by succeeded jobs")
    estimated_usd: float | None = Field(
        description="Sum of the known estimates (None when no job's estimate is known)"
    )
    actual_usd: float | None = Field(
        description="Sum of the known actual costs (None when no job's actual cost is known)"
    )
    unknown_cost_jobs: int = Field(
        description="Jobs whose cost is not known: finished without a known actual cost, or "
        "still running without a known estimate"
    )


class UsageByDay(UsageTotals):
    """One day's jobs (``group_by=day``)."""

    day: str = Field(
        description="`YYYY-MM-DD`, the UTC day jobs were created", examples=["2026-11-26"]
    )


class UsageByModel(UsageTotals):
    """One model's jobs (``group_by=model``)."""

    model: str = Field(examples=["sandbox/text-to-video"])


class UsageReport(BaseModel):
    data: list[UsageByDay] | list[UsageByModel] = Field(
        description="Days with jobs, oldest first (`group_by=day`), or models by id "
        "(`group_by=model`)"
    )
