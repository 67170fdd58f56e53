"""How soon a part that died is started again."""

from __future__ import annotations

from reelhouse.embedded.restarts import RestartPolicy


def test_restart_delays_double_up_to_the_cap() -> None:
    policy = RestartPolicy(base_delay=0.5, max_delay=4.0)
    assert [policy.delay_for(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_a_part_that_ran_calmly_starts_its_restart_count_again() -> None:
    policy = RestartPolicy(stable_after=60.0)
    assert policy.next_attempt(0, ran_for=1.0) == 1
    assert policy.next_attempt(3, ran_for=5.0) == 4
    assert policy.next_attempt(3, ran_for=61.0) == 1
