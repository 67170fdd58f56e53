"""Small pieces of the hardening: limit settings, the body decoder's verdicts, clipped problems."""

from __future__ import annotations

import pytest

from reelhouse.gateway.body_guard import undecodable_reason
from reelhouse.gateway.limits.settings import LimitSettings, OwnerLimits
from reelhouse.gateway.problems import MAX_FIELD_ERRORS, FieldError, ProblemError, clipped


def test_limits_are_off_unless_configured() -> None:
    limits = LimitSettings()

    assert limits.submit_rate_for("anyone") is None
    assert limits.max_active_jobs_for("anyone") is None


def test_an_owner_override_replaces_or_lifts_the_default() -> None:
    limits = LimitSettings(
        submit_rate=10,
        max_active_jobs=2,
        owners={"big": OwnerLimits(submit_rate=100), "free": OwnerLimits(max_active_jobs=0)},
    )

    assert (limits.submit_rate_for("big"), limits.max_active_jobs_for("big")) == (100, 2)
    assert (limits.submit_rate_for("free"), limits.max_active_jobs_for("free")) == (10, None)
    assert (limits.submit_rate_for("other"), limits.max_active_jobs_for("other")) == (10, 2)


@pytest.mark.parametrize(
    ("body", "verdict"),
    [
        (b'{"a": "\\ud800"}', "surrogate"),
        (b'{"a": "\\ud83d\\ude00"}', None),  # a proper pair is fine
        (b'{"a": "\xed\xa0\x80"}', "UTF-8"),
        (b"[1, 2", "JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
        ('{"a": "żółw 🐢"}'.encode(), None),
    ],
)
def test_undecodable_bodies_are_named(body: bytes, verdict: str | None) -> None:
    reason = undecodable_reason(body)

    if verdict is None:
        assert reason is None
    else:
        assert reason is not None
        assert verdict in reason


def test_problems_quote_only_a_prefix() -> None:
    huge = "x" * 1_000_000
    error = FieldError(path=huge, message=huge)
    problem = ProblemError("validation_error", huge, errors=[error] * 1000)

    assert len(error.path) <= 200
    assert len(error.message) <= 200
    assert len(problem.detail) <= 800
    assert problem.errors is not None
    assert len(problem.errors) == MAX_FIELD_ERRORS
    assert clipped("short") == "short"
