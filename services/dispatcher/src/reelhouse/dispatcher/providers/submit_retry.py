"""Retrying a submission the provider refused, honouring ``Retry-After``.

Only ``ProviderBusyError`` is retried: the provider answered 429 or 5xx, so no
prediction exists and a second create cannot double it. A timeout or a dropped
connection after the request was sent is *not* retried here (the provider may have
created it); the delivery policy and the dispatch record handle those.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import structlog

from reelhouse.dispatcher.providers.base import ProviderBusyError
from reelhouse.dispatcher.settings import SubmitRetrySettings

log = structlog.get_logger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date (or ISO)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_delay(attempt: int, error: ProviderBusyError, settings: SubmitRetrySettings) -> float:
    """The wait before retry ``attempt`` (1-based): the provider's word, else exponential."""
    if error.retry_after_seconds is not None:
        wanted = error.retry_after_seconds
    else:
        wanted = settings.base_delay_seconds * 2 ** (attempt - 1)
    return min(wanted, settings.max_delay_seconds)


async def submit_with_retries(
    submit: Callable[[], Awaitable[T]],
    settings: SubmitRetrySettings,
    *,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """Call ``submit`` until it is accepted, a non-busy error occurs or attempts run out."""
    for attempt in range(1, settings.attempts + 1):
        try:
            return await submit()
        except ProviderBusyError as exc:
            if attempt >= settings.attempts:
                raise
            delay = retry_delay(attempt, exc, settings)
            log.warning("provider.submit_refused", code=exc.code, attempt=attempt, retry_in=delay)
            await sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")
