"""The launcher's signal policy: one stop, and a kill only when asked again, later."""

from __future__ import annotations

from dataclasses import dataclass

from reelhouse.embedded.shutdown import ShutdownRequests


@dataclass
class Clock:
    now: float = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Kills:
    count: int = 0

    def __call__(self) -> None:
        self.count += 1


def test_the_first_signal_stops_gracefully_without_killing() -> None:
    kills = Kills()
    requests = ShutdownRequests(force=kills, clock=Clock())

    requests.on_signal("SIGINT")

    assert requests.stop.is_set()
    assert kills.count == 0


def test_a_double_ctrl_c_delivered_at_once_does_not_kill() -> None:
    # the terminal signals the foreground group and `uv run` forwards the same Ctrl-C
    clock, kills = Clock(), Kills()
    requests = ShutdownRequests(force=kills, clock=clock, force_after=2.0)

    requests.on_signal("SIGINT")
    clock.now += 0.01
    requests.on_signal("SIGINT")
    clock.now += 1.9
    requests.on_signal("SIGTERM")

    assert requests.stop.is_set()
    assert kills.count == 0


def test_a_second_signal_past_the_grace_period_forces_the_stop() -> None:
    clock, kills = Clock(), Kills()
    requests = ShutdownRequests(force=kills, clock=clock, force_after=2.0)

    requests.on_signal("SIGINT")
    clock.now += 2.0
    requests.on_signal("SIGINT")

    assert kills.count == 1
