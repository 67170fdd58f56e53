"""An assembly run's own keys beside the composition's base keys."""

from __future__ import annotations

from reelhouse.assembler.run_keys import is_run_key, new_run, run_key


def test_the_run_goes_before_the_extension() -> None:
    assert run_key("outputs/cmp_1/0.mp4", "ab12cd34") == "outputs/cmp_1/0.ab12cd34.mp4"
    assert run_key("posters/cmp_1/0.jpg", "ab12cd34") == "posters/cmp_1/0.ab12cd34.jpg"


def test_a_run_key_is_recognised_beside_its_base_only() -> None:
    base = "outputs/cmp_1/0.mp4"
    assert is_run_key(run_key(base, new_run()), base)
    assert not is_run_key(base, base)
    assert not is_run_key("outputs/cmp_2/0.ab12cd34.mp4", base)
    assert not is_run_key("outputs/cmp_1/0.ab12cd34.jpg", base)
    assert not is_run_key("outputs/cmp_1/1.ab12cd34.mp4", base)
    assert not is_run_key("outputs/cmp_1/0..mp4", base)


def test_runs_differ() -> None:
    assert len({new_run() for _ in range(100)}) == 100
