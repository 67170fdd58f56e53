"""The outbox relay's retry schedule."""

from __future__ import annotations

from reelhouse.gateway.outbox.relay import backoff_delay


def test_backoff_doubles_from_the_base_and_stops_at_the_cap() -> None:
    delays = [backoff_delay(n, base=0.5, cap=15.0) for n in range(1, 10)]

    assert delays[:5] == [0.5, 1.0, 2.0, 4.0, 8.0]
    assert delays[5:] == [15.0] * 4
