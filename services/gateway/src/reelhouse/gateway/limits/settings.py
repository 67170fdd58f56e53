"""Per-owner limits, off unless configured: a default for every owner plus a per-owner map.

For example ``REELHOUSE_LIMITS__SUBMIT_RATE=60`` (60 submits a minute for everybody) and
``REELHOUSE_LIMITS__OWNERS='{"batch": {"submit_rate": 0, "max_active_jobs": 2}}'`` (owner
``batch``: no rate limit, at most two jobs at work at once).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

# in a per-owner entry: this owner has no such limit, whatever the default says
UNLIMITED = 0


class OwnerLimits(BaseModel):
    """One owner's limits; unset fields take the default, 0 lifts the limit for this owner."""

    submit_rate: int | None = Field(
        default=None, ge=0, description="submits per window (0: no limit; unset: the default)"
    )
    max_active_jobs: int | None = Field(
        default=None, ge=0, description="jobs at work at once (0: no limit; unset: the default)"
    )


def _effective(default: int | None, override: int | None) -> int | None:
    value = default if override is None else override
    return None if value is None or value == UNLIMITED else value


class LimitSettings(BaseModel):
    """Per-owner submit rate and concurrency; both off unless configured."""

    submit_rate: int | None = Field(
        default=None,
        ge=1,
        description="submits each owner may make per `rate_window_seconds`; more get 429 "
        "`rate_limited` with `Retry-After` (unset: no limit)",
    )
    rate_window_seconds: int = Field(
        default=60, ge=1, le=86_400, description="the window the submit rate is counted over"
    )
    max_active_jobs: int | None = Field(
        default=None,
        ge=1,
        description="jobs of one owner at work at once; more wait in `queued` and start as "
        "others finish, never refused (unset: no limit)",
    )
    owners: dict[str, OwnerLimits] = Field(
        default_factory=dict,
        description='JSON map of per-owner overrides, e.g. `{"batch": {"submit_rate": 600, '
        '"max_active_jobs": 2}}` (0 lifts a limit for that owner)',
    )

    def submit_rate_for(self, owner_id: str) -> int | None:
        own = self.owners.get(owner_id)
        return _effective(self.submit_rate, own.submit_rate if own else None)

    @property
    def limits_concurrency(self) -> bool:
        """Whether any owner may have a concurrency limit (else no submit is held)."""
        return bool(self.max_active_jobs) or any(
            own.max_active_jobs for own in self.owners.values()
        )

    def max_active_jobs_for(self, owner_id: str) -> int | None:
        own = self.owners.get(owner_id)
        return _effective(self.max_active_jobs, own.max_active_jobs if own else None)
