"""The assembler's metrics: assemblies by outcome and method, their duration, those in flight."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram

from reelhouse.assembler.assembly import Assembled
from reelhouse.common.errors import PermanentError

ASSEMBLIES = Counter(
    "reelhouse_assemblies_total",
    "Deliveries of composition.ready.v1 handled, by outcome (assembled, replayed, superseded, "
    "failed, transient_error), method (copy, reencode; empty unless assembled) and code",
    ["outcome", "method", "code"],
)
ASSEMBLY_SECONDS = Histogram(
    "reelhouse_assembly_seconds",
    "Time to fetch, join, finish and store one film, by method",
    ["method"],
    buckets=(1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 1800),
)
IN_FLIGHT = Gauge("reelhouse_assemblies_in_flight", "Films being assembled by this process")


@contextmanager
def in_flight() -> Iterator[None]:
    IN_FLIGHT.inc()
    try:
        yield
    finally:
        IN_FLIGHT.dec()


def observe_assembled(assembled: Assembled, *, started: float) -> None:
    method = assembled.event.method
    if assembled.replayed or assembled.superseded:
        outcome = "replayed" if assembled.replayed else "superseded"
        ASSEMBLIES.labels(outcome, method, "").inc()
        return
    ASSEMBLIES.labels("assembled", method, "").inc()
    ASSEMBLY_SECONDS.labels(method).observe(time.monotonic() - started)


def observe_failure(exc: Exception) -> None:
    """A delivery that raised: permanent (the composition fails) or transient (retried, or
    given up on its last delivery by the delivery policy)."""
    if isinstance(exc, PermanentError):
        ASSEMBLIES.labels("failed", "", exc.code).inc()
    else:
        ASSEMBLIES.labels("transient_error", "", getattr(exc, "code", type(exc).__name__)).inc()
