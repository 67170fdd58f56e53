"""A request's deadlines: shortened within limits, start deadline below the deadline."""

from __future__ import annotations

import pytest

from reelhouse.gateway.jobs.deadlines import DeadlineLimits
from reelhouse.gateway.problems import ProblemError

LIMITS = DeadlineLimits(default_seconds=900, max_seconds=3600)


def _paths(limits: DeadlineLimits, deadline: int | None, start: int | None) -> list[str]:
    with pytest.raises(ProblemError) as caught:
        limits.resolve(deadline_seconds=deadline, start_deadline_seconds=start)
    assert caught.value.code == "validation_error"
    return [error.path for error in caught.value.errors or []]


def test_the_default_applies_when_the_request_sets_nothing() -> None:
    assert LIMITS.resolve(deadline_seconds=None, start_deadline_seconds=None) == (900, None)


def test_a_request_may_shorten_the_deadline_and_set_a_start_deadline() -> None:
    assert LIMITS.resolve(deadline_seconds=20, start_deadline_seconds=5) == (20, 5)


def test_a_deadline_above_the_maximum_is_refused_by_field() -> None:
    assert _paths(LIMITS, 3601, None) == ["deadline_seconds"]


def test_a_start_deadline_not_below_the_deadline_is_left_out() -> None:
    # the deadline fires first anyway; refusing it would refuse a body the OpenAPI allows
    assert LIMITS.resolve(deadline_seconds=20, start_deadline_seconds=20) == (20, None)
    assert LIMITS.resolve(deadline_seconds=None, start_deadline_seconds=901) == (900, None)


def test_a_default_start_deadline_applies_only_below_the_deadline() -> None:
    limits = DeadlineLimits(default_seconds=900, max_seconds=3600, default_start_seconds=60)

    assert limits.resolve(deadline_seconds=None, start_deadline_seconds=None) == (900, 60)
    assert limits.resolve(deadline_seconds=30, start_deadline_seconds=None) == (30, None)
    assert limits.resolve(deadline_seconds=None, start_deadline_seconds=10) == (900, 10)
