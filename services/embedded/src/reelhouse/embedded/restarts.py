"""When a part that died is started again: exponential backoff, capped, forgiven after a calm run.

Pure arithmetic, so the policy is tested without processes (``tests/unit/embedded``).
"""

from __future__ import annotations

from dataclasses import dataclass

# the first restart comes quickly: most deaths are one-off (an OOM kill, a stray signal)
BASE_DELAY_SECONDS = 0.5
# and a part that keeps dying is retried at most this far apart, never given up on: the rest
# of the pipeline keeps working and the jobs wait in their streams until it is back
MAX_DELAY_SECONDS = 30.0
# a part that ran this long before it died starts the count again
STABLE_AFTER_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class RestartPolicy:
    base_delay: float = BASE_DELAY_SECONDS
    max_delay: float = MAX_DELAY_SECONDS
    stable_after: float = STABLE_AFTER_SECONDS

    def delay_for(self, attempt: int) -> float:
        """The wait before restart ``attempt`` (1-based) of the same part."""
        return float(min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))

    def next_attempt(self, previous: int, *, ran_for: float) -> int:
        """The attempt number of this restart, given the last one and how long the part ran."""
        return 1 if ran_for >= self.stable_after else previous + 1
