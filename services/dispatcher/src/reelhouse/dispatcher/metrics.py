"""The dispatcher's metrics: every provider call, its latency and its errors, by provider.

``measured(adapter)`` wraps a provider adapter (same protocol) so each ``submit``, ``get``
and ``cancel`` is timed; a call that raises is counted with its catalogue code (or the
exception's type when it has none) and re-raised untouched.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import Any, TypeVar

from prometheus_client import Counter, Histogram

from reelhouse.common.metrics import LATENCY_BUCKETS
from reelhouse.dispatcher.providers.base import (
    CancelAnswer,
    ProviderAdapter,
    ProviderState,
    SubmitOptions,
)

T = TypeVar("T")

PROVIDER_CALL_SECONDS = Histogram(
    "reelhouse_provider_request_duration_seconds",
    "Latency of calls to a provider's API, by provider and operation (submit, get, cancel)",
    ["provider", "operation"],
    buckets=LATENCY_BUCKETS,
)
PROVIDER_ERRORS = Counter(
    "reelhouse_provider_errors_total",
    "Provider calls that failed, by provider, operation and error code",
    ["provider", "operation", "code"],
)


class MeasuredAdapter:
    """A provider adapter that records each call's latency and failures."""

    def __init__(self, inner: ProviderAdapter) -> None:
        self.inner = inner
        self.name = inner.name
        self.protocol = inner.protocol

    async def _timed(self, operation: str, call: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await call
        except Exception as exc:
            code = str(getattr(exc, "code", type(exc).__name__))
            PROVIDER_ERRORS.labels(self.name, operation, code).inc()
            raise
        finally:
            PROVIDER_CALL_SECONDS.labels(self.name, operation).observe(
                time.perf_counter() - started
            )

    async def submit(
        self, model: str, input: dict[str, Any], options: SubmitOptions | None = None
    ) -> str:
        return await self._timed("submit", self.inner.submit(model, input, options))

    async def get(self, model: str, request_id: str) -> ProviderState:
        return await self._timed("get", self.inner.get(model, request_id))

    async def cancel(self, model: str, request_id: str) -> CancelAnswer:
        return await self._timed("cancel", self.inner.cancel(model, request_id))

    async def aclose(self) -> None:
        await self.inner.aclose()


def measured(adapter: ProviderAdapter) -> ProviderAdapter:
    return MeasuredAdapter(adapter)
