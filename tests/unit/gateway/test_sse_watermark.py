"""``Watermark``: ids that commit out of order are passed in order, none skipped, none twice."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from reelhouse.gateway.live.reader import Committed
from reelhouse.gateway.live.watermark import Watermark

NOW = datetime(2026, 1, 1, tzinfo=UTC)
GRACE = 5.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _row(pk: int, *, age: float = 0.0, mine: bool = True) -> Committed:
    return Committed(pk=pk, recorded_at=NOW - timedelta(seconds=age), mine=mine)


def _watermark(clock: Clock, position: int = 0) -> Watermark:
    return Watermark(position, grace_seconds=GRACE, clock=clock, wall_clock=lambda: NOW)


def test_consecutive_ids_pass_at_once() -> None:
    mark = _watermark(Clock())
    assert [r.pk for r in mark.advance([_row(1), _row(2), _row(3)])] == [1, 2, 3]
    assert mark.position == 3
    assert not mark.holding


def test_a_fresh_gap_holds_later_ids_back_until_the_missing_one_commits() -> None:
    clock = Clock()
    mark = _watermark(clock)
    assert [r.pk for r in mark.advance([_row(1), _row(3)])] == [1]
    assert mark.holding
    clock.now = 1.0
    assert mark.advance([_row(3)]) == []
    # 2 commits late: the reader still sees it, then 3
    assert [r.pk for r in mark.advance([_row(2), _row(3)])] == [2, 3]
    assert not mark.holding


def test_a_gap_that_never_fills_is_passed_after_the_grace() -> None:
    clock = Clock()
    mark = _watermark(clock)
    assert mark.advance([_row(2)]) == []
    clock.now = GRACE
    assert [r.pk for r in mark.advance([_row(2)])] == [2]


def test_an_old_gap_is_passed_at_once() -> None:
    """A rolled-back insert long ago cannot still commit: resuming far back does not wait."""
    mark = _watermark(Clock())
    rows = [_row(1, age=3600), _row(5, age=3600), _row(9, age=GRACE + 1)]
    assert [r.pk for r in mark.advance(rows)] == [1, 5, 9]


def test_rows_at_or_below_the_position_are_ignored() -> None:
    mark = _watermark(Clock(), position=10)
    assert [r.pk for r in mark.advance([_row(9), _row(10), _row(11)])] == [11]


def test_out_of_order_commits_lose_nothing_and_repeat_nothing() -> None:
    """Ids 1..N committed in shuffled order, read between commits: each passed exactly once."""
    rng = random.Random(9)
    for _ in range(50):
        ids = list(range(1, 61))
        # each transaction commits a little after it took its id
        commit_order = sorted(ids, key=lambda i: i + rng.uniform(0, 8))
        clock = Clock()
        mark = _watermark(clock)
        committed: set[int] = set()
        passed: list[int] = []
        for pk in commit_order:
            committed.add(pk)
            clock.now += 0.01
            visible = [_row(i) for i in sorted(committed) if i > mark.position]
            passed += [r.pk for r in mark.advance(visible)]
        assert passed == ids
