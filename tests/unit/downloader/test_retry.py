"""Backoff with jitter, the retry deadline, and what a resumed answer must look like."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from reelhouse.downloader.retry import Deadline, RetryPolicy
from reelhouse.downloader.transfer import parse_content_range


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(attempts=8, base_delay=0.5, max_delay=4.0)
    rng = random.Random(1)
    for attempt, step in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (7, 4.0)]:
        pauses = {policy.delay(attempt, rng=rng) for _ in range(50)}
        assert all(step / 2 <= p <= step for p in pauses)
        assert len(pauses) > 1  # jittered


def test_without_an_expiry_the_deadline_is_the_total_timeout() -> None:
    deadline = Deadline.for_output(total_timeout=60, expires_at=None, now=100.0)
    assert (deadline.at, deadline.from_expiry) == (160.0, False)
    assert deadline.allows(59.0, now=100.0)
    assert not deadline.allows(61.0, now=100.0)


def test_an_expiry_sooner_than_the_timeout_sets_the_deadline() -> None:
    wall = 1_700_000_000.0
    expires = datetime.fromtimestamp(wall + 20, UTC)
    deadline = Deadline.for_output(total_timeout=60, expires_at=expires, now=100.0, wall_now=wall)
    assert (deadline.at, deadline.from_expiry) == (120.0, True)
    later = datetime.fromtimestamp(wall + 600, UTC)
    capped = Deadline.for_output(total_timeout=60, expires_at=later, now=100.0, wall_now=wall)
    assert (capped.at, capped.from_expiry) == (160.0, False)


@pytest.mark.parametrize(
    ("header", "parsed"),
    [
        ("bytes 100-199/200", (100, 199, 200)),
        ("bytes 0-9/*", (0, 9, None)),
        ("BYTES 5-6/7", (5, 6, 7)),
        ("bytes */200", None),
        ("items 1-2/3", None),
        (None, None),
    ],
)
def test_content_range_parsing(header: str | None, parsed: tuple[int, int, int | None]) -> None:
    assert parse_content_range(header) == parsed
