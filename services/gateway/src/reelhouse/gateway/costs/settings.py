"""Monthly budgets per owner, off unless configured.

For example ``REELHOUSE_COSTS__MONTHLY_BUDGET_USD=20`` (every owner may spend 20 USD a
calendar month, UTC) and ``REELHOUSE_COSTS__OWNER_BUDGETS_USD='{"alice": 100, "ci": null}'``
(alice 100 USD, owner ``ci`` no budget whatever the default says).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class CostSettings(BaseModel):
    """Per-owner monthly budgets: submits beyond one get 402 ``budget_exceeded``."""

    monthly_budget_usd: float | None = Field(
        default=None,
        ge=0,
        description="what each owner may spend per calendar month (UTC), in US dollars: a "
        "submit whose estimate plus the month's spend so far exceeds it is refused with 402 "
        "`budget_exceeded` (unset: no budget)",
    )
    owner_budgets_usd: dict[str, float | None] = Field(
        default_factory=dict,
        description='JSON map of per-owner monthly budgets overriding the default, e.g. `{"alice": '
        '100, "ci": null}` (null: no budget for that owner)',
    )

    def budget_for(self, owner_id: str) -> float | None:
        if owner_id in self.owner_budgets_usd:
            return self.owner_budgets_usd[owner_id]
        return self.monthly_budget_usd
