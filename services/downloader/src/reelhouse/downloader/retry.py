"""How often and how long the downloader tries one output: backoff with jitter, a deadline.

The deadline for starting another attempt is the earlier of ``total_timeout`` after the
first one and the moment the provider's URL expires (``OutputFile.expires_at``, when the
provider says): retrying a dead URL only wastes the time a refresh or a failure report needs.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 8.0

    def delay(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """The pause after failed attempt ``attempt`` (1-based): exponential, "equal jitter".

        Half of the exponential step is kept and the other half drawn at random, so replicas
        that failed together do not come back together, yet every pause still grows.
        """
        step = min(self.max_delay, self.base_delay * float(2 ** (attempt - 1)))
        draw = (rng or random).random()
        return step / 2 + step / 2 * draw


@dataclass(frozen=True, slots=True)
class Deadline:
    """Until when new attempts may start (monotonic seconds), and whether the URL's expiry set it."""

    at: float
    from_expiry: bool

    @classmethod
    def for_output(
        cls,
        *,
        total_timeout: float,
        expires_at: datetime | None,
        now: float | None = None,
        wall_now: float | None = None,
    ) -> Deadline:
        mono = time.monotonic() if now is None else now
        cap = mono + total_timeout
        if expires_at is None:
            return cls(at=cap, from_expiry=False)
        wall = time.time() if wall_now is None else wall_now
        expiry = mono + (expires_at.timestamp() - wall)
        return cls(at=expiry, from_expiry=True) if expiry < cap else cls(at=cap, from_expiry=False)

    def allows(self, pause: float, *, now: float | None = None) -> bool:
        """Whether an attempt started after ``pause`` seconds would start before the deadline."""
        return (time.monotonic() if now is None else now) + pause < self.at
