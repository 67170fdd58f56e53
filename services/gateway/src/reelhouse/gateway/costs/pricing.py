"""What a job costs (pure): the estimate at submit, the actual cost from what providers told.

Unknown is None, never 0: a model without a price (``usd`` None) has no estimate and no
actual cost. A known free price (``usd`` 0) costs 0. Per basis:

- ``second`` (of output): estimate ``duration`` (the input, defaults applied) × usd;
  actual billed units × usd when the provider reported them (fal), else the stored
  video's (or audio's) seconds × usd once the job succeeded;
- ``image``: estimate images asked for (``num_outputs``/``num_images``, default 1) × usd;
  actual billed units × usd, else the stored images × usd;
- ``run``: estimate usd; actual usd × the attempts the provider ran (it reported usage or
  delivered an output);
- ``prediction_second`` (provider compute time, e.g. Replicate's hardware price):
  estimate ``typical_seconds`` × usd when the catalogue gives it (else unknown); actual
  the reported compute seconds (summed over attempts) × usd.

A job that ends without any provider having accepted it (refused at submit, canceled
while queued) cost nothing: actual 0. A retry that re-downloads an earlier job's output
asks no provider to work again: estimate and actual 0 (the work is on the earlier job).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reelhouse.gateway.catalog.entries import PriceEntry, PriceUnit

# cents are too coarse for per-second prices; more digits are float noise
_DIGITS = 6
# the input fields that say how many images a run makes (Replicate, fal)
IMAGE_COUNT_FIELDS = ("num_outputs", "num_images")


def _usd(amount: float) -> float:
    return round(amount, _DIGITS)


def _number(value: Any) -> float | None:
    """A non-negative number from an input value (``5``, ``5.0`` or a string ``"5"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and value >= 0 and value != float("inf"):
        return float(value)
    return None


def estimate_usd(price: PriceEntry, prepared_input: Mapping[str, Any]) -> float | None:
    """The expected cost of one run with ``prepared_input`` (schema defaults applied)."""
    if price.usd is None:
        return None
    match price.unit:
        case "second":
            seconds = _number(prepared_input.get("duration"))
            return None if seconds is None else _usd(seconds * price.usd)
        case "image":
            count = next(
                (
                    n
                    for n in (_number(prepared_input.get(f)) for f in IMAGE_COUNT_FIELDS)
                    if n is not None
                ),
                1.0,
            )
            return _usd(count * price.usd)
        case "run":
            return _usd(price.usd)
        case "prediction_second":
            if price.typical_seconds is None:
                return None
            return _usd(price.typical_seconds * price.usd)


@dataclass(frozen=True, slots=True)
class CostFacts:
    """What is known of a job's provider work, for its actual cost."""

    basis: PriceUnit
    unit_usd: float | None
    final: bool
    # a provider accepted one of its attempts (or delivered an output)
    provider_worked: bool
    redownload: bool = False
    predict_time_seconds: float | None = None
    billed_units: float | None = None
    provider_runs: int = 0
    output_seconds: float | None = None
    output_images: int | None = None


def actual_usd(facts: CostFacts) -> float | None:
    """The job's cost so far from what providers reported; None while (or when) unknown."""
    if facts.redownload:
        return 0.0
    if not facts.provider_worked and facts.provider_runs == 0:
        return 0.0 if facts.final else None
    usd = facts.unit_usd
    if usd is None:
        return None
    match facts.basis:
        case "prediction_second":
            quantity = facts.predict_time_seconds
        case "second":
            quantity = (
                facts.billed_units if facts.billed_units is not None else facts.output_seconds
            )
        case "image":
            quantity = (
                facts.billed_units
                if facts.billed_units is not None
                else None
                if facts.output_images is None
                else float(facts.output_images)
            )
        case "run":
            quantity = float(facts.provider_runs) if facts.provider_runs else None
    return None if quantity is None else _usd(quantity * usd)
