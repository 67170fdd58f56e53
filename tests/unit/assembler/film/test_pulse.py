"""The work beats often; the caller's heartbeat hears at most one beat per interval."""

from __future__ import annotations

import pytest

from reelhouse.assembler.film.pulse import Pulse

pytestmark = pytest.mark.timeout(10)


def test_a_zero_interval_passes_every_beat_on() -> None:
    heard: list[None] = []
    pulse = Pulse(lambda: heard.append(None), interval=0.0)

    for _ in range(5):
        pulse.beat()

    assert len(heard) == 5


def test_a_long_interval_holds_beats_back() -> None:
    heard: list[None] = []
    pulse = Pulse(lambda: heard.append(None), interval=3600.0)

    for _ in range(5):
        pulse.beat()

    assert heard == []


def test_without_a_heartbeat_beats_are_harmless() -> None:
    Pulse(None, interval=0.0).beat()
