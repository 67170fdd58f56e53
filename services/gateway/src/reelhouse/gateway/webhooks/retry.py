"""When a failed delivery is tried again (pure): exponential backoff with jitter, a deadline."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

GONE = 410


def retry_delay(
    attempts: int, *, base: float, cap: float, rand: random.Random | None = None
) -> float:
    """Seconds before the next try after ``attempts`` failed ones: half fixed, half jitter."""
    ceiling = float(min(cap, base * 2 ** max(0, attempts - 1)))
    jitter: float = (rand or random).uniform(0, ceiling / 2)
    return ceiling / 2 + jitter


def next_attempt_at(
    *, attempts: int, now: datetime, give_up_at: datetime, base: float, cap: float
) -> datetime | None:
    """When to try again, or None when the next try would come after ``give_up_at``."""
    at = now + timedelta(seconds=retry_delay(attempts, base=base, cap=cap))
    return at if at <= give_up_at else None


def stops_retries(status_code: int | None) -> bool:
    """410 Gone: the endpoint says it is gone for good, so this delivery is not retried."""
    return status_code == GONE
