"""Our retries of a refused submission: Retry-After honoured, bounded, nothing else retried."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from reelhouse.common.errors import TransientError
from reelhouse.dispatcher.providers.base import ProviderBusyError
from reelhouse.dispatcher.providers.submit_retry import (
    parse_retry_after,
    retry_delay,
    submit_with_retries,
)
from reelhouse.dispatcher.settings import SubmitRetrySettings

NOW = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
SETTINGS = SubmitRetrySettings(attempts=3, base_delay_seconds=0.5, max_delay_seconds=10)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3", 3.0),
        (" 0 ", 0.0),
        (format_datetime(NOW + timedelta(seconds=5), usegmt=True), 5.0),
        ((NOW + timedelta(seconds=8)).isoformat(), 8.0),
        (format_datetime(NOW - timedelta(seconds=5), usegmt=True), 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_a_date(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == seconds


def test_delay_follows_the_provider_but_is_capped() -> None:
    told = ProviderBusyError("provider_rate_limited", retry_after_seconds=3)
    greedy = ProviderBusyError("provider_rate_limited", retry_after_seconds=3600)
    silent = ProviderBusyError("provider_unavailable")

    assert retry_delay(1, told, SETTINGS) == 3
    assert retry_delay(1, greedy, SETTINGS) == 10
    assert [retry_delay(n, silent, SETTINGS) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]


async def test_refused_submission_is_retried_until_accepted() -> None:
    answers: list[object] = [
        ProviderBusyError("provider_rate_limited", retry_after_seconds=2),
        ProviderBusyError("provider_unavailable"),
        "p1",
    ]
    slept: list[float] = []

    async def submit() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, str)
        return answer

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    assert await submit_with_retries(submit, SETTINGS, sleep=sleep) == "p1"
    assert slept == [2, 1.0]


async def test_retries_are_bounded() -> None:
    calls = 0

    async def submit() -> str:
        nonlocal calls
        calls += 1
        raise ProviderBusyError("provider_rate_limited")

    async def sleep(seconds: float) -> None:
        return None

    with pytest.raises(ProviderBusyError):
        await submit_with_retries(submit, SETTINGS, sleep=sleep)
    assert calls == 3


async def test_an_uncertain_failure_is_never_retried() -> None:
    calls = 0

    async def submit() -> str:
        nonlocal calls
        calls += 1
        raise TransientError("provider_unavailable", "timed out after sending")

    async def sleep(seconds: float) -> None:
        return None

    with pytest.raises(TransientError):
        await submit_with_retries(submit, SETTINGS, sleep=sleep)
    assert calls == 1
