"""Cost arithmetic: estimates per price basis, actual costs, and never 0 for unknown."""

from __future__ import annotations

from typing import Any

import pytest

from reelhouse.gateway.catalog.entries import PriceEntry, PriceUnit
from reelhouse.gateway.costs.pricing import CostFacts, actual_usd, estimate_usd
from reelhouse.gateway.costs.settings import CostSettings


def _price(unit: PriceUnit, usd: float | None, **extra: Any) -> PriceEntry:
    return PriceEntry(unit=unit, usd=usd, **extra)


@pytest.mark.parametrize(
    ("price", "input_", "expected"),
    [
        pytest.param(_price("second", 0.01), {"duration": 4}, 0.04, id="second"),
        pytest.param(_price("second", 0.05), {"duration": "10"}, 0.5, id="second-enum-string"),
        pytest.param(_price("second", 0.01), {}, None, id="second-without-duration"),
        pytest.param(_price("image", 0.002), {}, 0.002, id="image-default-one"),
        pytest.param(_price("image", 0.002), {"num_outputs": 3}, 0.006, id="image-num-outputs"),
        pytest.param(_price("image", 0.002), {"num_images": 2}, 0.004, id="image-num-images"),
        pytest.param(_price("run", 0.25), {"duration": 9}, 0.25, id="run"),
        pytest.param(_price("run", 0), {}, 0.0, id="known-free"),
        pytest.param(
            _price("prediction_second", 0.001, typical_seconds=5), {}, 0.005, id="compute"
        ),
        pytest.param(_price("prediction_second", 0.001), {}, None, id="compute-no-typical"),
        pytest.param(_price("second", None), {"duration": 5}, None, id="unknown-price"),
        pytest.param(_price("image", None), {}, None, id="unknown-image-price"),
    ],
)
def test_estimate_per_basis(
    price: PriceEntry, input_: dict[str, Any], expected: float | None
) -> None:
    assert estimate_usd(price, input_) == expected


def _facts(basis: PriceUnit, usd: float | None, **changes: Any) -> CostFacts:
    fields: dict[str, Any] = {"final": True, "provider_worked": True}
    fields.update(changes)
    return CostFacts(basis=basis, unit_usd=usd, **fields)


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        pytest.param(
            _facts("prediction_second", 0.001, predict_time_seconds=2.5), 0.0025, id="compute"
        ),
        pytest.param(_facts("prediction_second", 0.001), None, id="compute-not-told"),
        pytest.param(_facts("second", 0.01, output_seconds=4.0), 0.04, id="stored-seconds"),
        pytest.param(
            _facts("second", 0.01, output_seconds=4.0, billed_units=5.0),
            0.05,
            id="billed-units-win",
        ),
        pytest.param(_facts("second", 0.01), None, id="failed-no-output-no-units"),
        pytest.param(_facts("image", 0.002, output_images=3), 0.006, id="stored-images"),
        pytest.param(_facts("image", 0.002, billed_units=1.0), 0.002, id="image-billed"),
        pytest.param(_facts("run", 0.3, provider_runs=2), 0.6, id="run-per-attempt"),
        pytest.param(_facts("run", 0.3), None, id="run-not-known-to-have-run"),
        pytest.param(_facts("run", 0, provider_runs=1), 0.0, id="known-free"),
        pytest.param(
            _facts("prediction_second", None, predict_time_seconds=3.0), None, id="unknown-price"
        ),
        pytest.param(
            _facts("second", None, provider_worked=False), 0.0, id="no-provider-ever-accepted"
        ),
        pytest.param(
            _facts("second", 0.01, provider_worked=False, final=False), None, id="not-yet-known"
        ),
        pytest.param(
            _facts("second", 0.01, redownload=True, output_seconds=4.0), 0.0, id="redownload"
        ),
    ],
)
def test_actual_cost(facts: CostFacts, expected: float | None) -> None:
    assert actual_usd(facts) == expected


def test_budget_for_an_owner_overrides_the_default_and_null_lifts_it() -> None:
    costs = CostSettings(monthly_budget_usd=10, owner_budgets_usd={"alice": 50, "ci": None})

    assert costs.budget_for("bob") == 10
    assert costs.budget_for("alice") == 50
    assert costs.budget_for("ci") is None
    assert CostSettings().budget_for("bob") is None
