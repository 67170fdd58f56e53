"""A job's two deadlines, as pure arithmetic.

- time to finish: ``deadline_seconds`` from the first submission, kept across routes;
- time to start: ``start_deadline_seconds`` (or the default setting) from each
  attempt's submission, never later than the finish deadline.

Both are enforced by the broker-scheduled poll, whose delay is cut short so the
look that notices a breach happens right at the deadline.
"""

from __future__ import annotations

from datetime import datetime, timedelta

# the provider's own Cancel-After is a safety net behind our deadline, not a race with it
PROVIDER_DEADLINE_GRACE_SECONDS = 60.0


def finish_deadline(submitted_at: datetime, deadline_seconds: float) -> datetime:
    return submitted_at + timedelta(seconds=deadline_seconds)


def start_deadline(
    submitted_at: datetime, start_deadline_seconds: float | None, finish: datetime
) -> datetime | None:
    """When the attempt must have started; None: only the finish deadline applies."""
    if start_deadline_seconds is None:
        return None
    return min(finish, submitted_at + timedelta(seconds=start_deadline_seconds))


def next_poll_delay(
    *,
    now: datetime,
    deadline_at: datetime,
    poll_interval: float,
    start_deadline_at: datetime | None = None,
) -> float:
    """The poll interval, shortened so the next look happens right at the nearest deadline."""
    nearest = deadline_at if start_deadline_at is None else min(deadline_at, start_deadline_at)
    remaining = (nearest - now).total_seconds()
    return max(0.0, min(poll_interval, remaining))


def provider_cancel_after(*, now: datetime, deadline_at: datetime) -> float:
    """Seconds for the provider's own deadline (Replicate ``Cancel-After``)."""
    return max(1.0, (deadline_at - now).total_seconds()) + PROVIDER_DEADLINE_GRACE_SECONDS
