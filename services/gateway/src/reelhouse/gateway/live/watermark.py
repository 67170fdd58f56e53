"""Reading a serial id in order when ids may commit out of order (pure; no I/O).

On PostgreSQL, two transactions take ids 10 and 11; 11 may commit first. A reader that
saw 11 and asks for ``id > 11`` would never see 10. ``Watermark`` only passes ids in order:
at a gap it holds back until the missing id commits or the gap is surely not in flight —
it has been seen for ``grace_seconds``, or the row after it was recorded longer than
``grace_seconds`` ago (rolled-back inserts and deleted rows leave gaps forever). Memory is
one position and one gap.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from reelhouse.gateway.live.reader import Committed


@dataclass(slots=True)
class _Gap:
    at: int  # the position the gap holds back
    seen_at: float  # monotonic


class Watermark:
    def __init__(
        self,
        position: int,
        *,
        grace_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.position = position
        self._grace = grace_seconds
        self._clock = clock
        self._wall_clock = wall_clock
        self._gap: _Gap | None = None

    @property
    def holding(self) -> bool:
        """Whether a gap holds the position back (the caller should look again soon)."""
        return self._gap is not None

    def advance(self, committed: Sequence[Committed]) -> list[Committed]:
        """Given committed rows above ``position`` (ascending), the ones passed, in order."""
        passed: list[Committed] = []
        for row in committed:
            if row.pk <= self.position:
                continue
            if row.pk != self.position + 1 and not self._gap_settled(row):
                break
            self._gap = None
            self.position = row.pk
            passed.append(row)
        return passed

    def _gap_settled(self, after_gap: Committed) -> bool:
        now = self._clock()
        if self._gap is None or self._gap.at != self.position:
            self._gap = _Gap(at=self.position, seen_at=now)
        if now - self._gap.seen_at >= self._grace:
            return True
        return after_gap.recorded_at <= self._wall_clock() - timedelta(seconds=self._grace)
