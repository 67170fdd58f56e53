"""A new job's cost columns: the price it is made under and the estimate."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from reelhouse.gateway.catalog.entries import PriceEntry
from reelhouse.gateway.costs.pricing import estimate_usd


def cost_columns(
    price: PriceEntry, prepared_input: Mapping[str, Any], *, now: datetime, redownload: bool = False
) -> dict[str, Any]:
    """``Job`` column values for a job made ``now`` (a re-download asks no provider: 0)."""
    return {
        "created_day": now.date().isoformat(),
        "cost_basis": price.unit,
        "cost_unit_usd": price.usd,
        "cost_simulated": price.simulated,
        "cost_estimate_usd": 0.0 if redownload else estimate_usd(price, prepared_input),
    }
